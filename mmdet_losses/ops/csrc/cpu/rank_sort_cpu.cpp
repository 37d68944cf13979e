// CPU kernel of mmdet_losses::rank_sort_positives (the arithmetic is in ../rank_sort.h): rows and
// then columns split over threads; each entry is computed by one thread in a fixed order. On an
// AVX2 CPU (avx2_kernel_enabled) the kRankSortLanes = 4 lanes are the 4 doubles of one register:
// the same operations on the same lanes (no FMA), so the same bits as the portable loops.
#include "../rank_sort.h"
#include "ap_rank_cpu_avx2.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <tuple>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mmdet_losses {
namespace {

#if defined(__x86_64__)
static_assert(kRankSortLanes == 4, "one AVX2 register of doubles holds the lanes");
#define RANK_SORT_AVX2 __attribute__((target("avx2")))

RANK_SORT_AVX2 inline __m256d step4(__m256d scaled, __m256d shifted) {
  // max then min: +0 for x <= 0 (MAXPD returns its second operand for two zeros), as rank_sort_step.
  return _mm256_min_pd(_mm256_max_pd(_mm256_sub_pd(scaled, shifted), _mm256_setzero_pd()), _mm256_set1_pd(1.0));
}

RANK_SORT_AVX2 SortingRow sorting_row_avx2(const double* scaled, const double* y, const double* misfit,
                                           int64_t m, int64_t i) {
  const double shifted = scaled[i] - 0.5;
  const __m256d shifted4 = _mm256_set1_pd(shifted), yi = _mm256_set1_pd(y[i]);
  __m256d rank_pos = _mm256_setzero_pd(), current = rank_pos, above = rank_pos, above_misfit = rank_pos,
          below = rank_pos;
  const int64_t whole = m - m % kRankSortLanes;
  for (int64_t k = 0; k < whole; k += kRankSortLanes) {
    const __m256d h = step4(_mm256_loadu_pd(scaled + k), shifted4);
    const __m256d up = _mm256_cmp_pd(_mm256_loadu_pd(y + k), yi, _CMP_GE_OQ);
    const __m256d h_up = _mm256_and_pd(up, h);
    const __m256d mis = _mm256_loadu_pd(misfit + k);
    rank_pos = _mm256_add_pd(rank_pos, h);
    current = _mm256_add_pd(current, _mm256_mul_pd(h, mis));
    above = _mm256_add_pd(above, h_up);
    above_misfit = _mm256_add_pd(above_misfit, _mm256_mul_pd(h_up, mis));
    below = _mm256_add_pd(below, _mm256_andnot_pd(up, h));
  }
  RowLanes lanes;
  _mm256_storeu_pd(lanes.rank_pos, rank_pos);
  _mm256_storeu_pd(lanes.current, current);
  _mm256_storeu_pd(lanes.above, above);
  _mm256_storeu_pd(lanes.above_misfit, above_misfit);
  _mm256_storeu_pd(lanes.below, below);
  add_row(lanes, scaled, y, misfit, m, shifted, y[i], whole);
  return finish_row(lanes);
}

RANK_SORT_AVX2 double sorting_column_avx2(const double* scaled, const double* y, const double* coefficient,
                                          int64_t m, int64_t k) {
  const __m256d sk = _mm256_set1_pd(scaled[k]), yk = _mm256_set1_pd(y[k]), half = _mm256_set1_pd(0.5);
  __m256d sum = _mm256_setzero_pd();
  const int64_t whole = m - m % kRankSortLanes;
  for (int64_t i = 0; i < whole; i += kRankSortLanes) {
    const __m256d h = step4(sk, _mm256_sub_pd(_mm256_loadu_pd(scaled + i), half));
    const __m256d above = _mm256_cmp_pd(_mm256_loadu_pd(y + i), yk, _CMP_GT_OQ);
    sum = _mm256_add_pd(sum, _mm256_and_pd(above, _mm256_mul_pd(_mm256_loadu_pd(coefficient + i), h)));
  }
  double lanes[kRankSortLanes];
  _mm256_storeu_pd(lanes, sum);
  add_column(lanes, scaled, y, coefficient, m, scaled[k], y[k], whole);
  return lane_total(lanes);
}
#endif

SortingRow row_of(bool avx2, const double* scaled, const double* y, const double* misfit, int64_t m, int64_t i) {
#if defined(__x86_64__)
  if (avx2) {
    return sorting_row_avx2(scaled, y, misfit, m, i);
  }
#endif
  return sorting_row(scaled, y, misfit, m, i);
}

double column_of(bool avx2, const double* scaled, const double* y, const double* coefficient, int64_t m,
                 int64_t k) {
#if defined(__x86_64__)
  if (avx2) {
    return sorting_column_avx2(scaled, y, coefficient, m, k);
  }
#endif
  return sorting_column(scaled, y, coefficient, m, k);
}

}  // namespace

void sort_positives_cpu(const at::Tensor& p, const at::Tensor& y_tensor, double delta, const SortingOutputs& out) {
  const int64_t m = p.numel();
  const double* p_data = p.const_data_ptr<double>();
  const double* y = y_tensor.const_data_ptr<double>();
  std::vector<double> scaled(m), misfit(m), coefficient(m), self_update(m);
  for (int64_t k = 0; k < m; ++k) {
    prepare_positive(p_data, y, delta, k, scaled.data(), misfit.data());
  }
  double* rank_pos_data = out.rank_pos.data_ptr<double>();
  double* error_data = out.error.data_ptr<double>();
  double* update_data = out.update.data_ptr<double>();
  const bool avx2 = avx2_kernel_enabled();
  // About 32k pairs per task.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / m);
  at::parallel_for(0, m, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const SortingRow row = row_of(avx2, scaled.data(), y, misfit.data(), m, i);
      rank_pos_data[i] = row.rank_pos;
      error_data[i] = row.error;
      coefficient[i] = row.coefficient;
      self_update[i] = row.self_update;
    }
  });
  at::parallel_for(0, m, grain, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      update_data[k] = column_of(avx2, scaled.data(), y, coefficient.data(), m, k) + self_update[k];
    }
  });
}

TORCH_LIBRARY_IMPL(mmdet_losses, CPU, m) {
  m.impl("rank_sort_positives", &dispatch_rank_sort_positives<sort_positives_cpu>);
}

}  // namespace mmdet_losses
