// CPU kernel of mmdet_losses::rank_sort_positives (the arithmetic is in ../rank_sort.h): rows and
// then columns split over threads; each entry is computed by one thread in a fixed order.
#include "../rank_sort.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <tuple>
#include <vector>

namespace mmdet_losses {
namespace {

std::tuple<at::Tensor, at::Tensor, at::Tensor> rank_sort_positives_cpu(const at::Tensor& scores,
                                                                       const at::Tensor& values,
                                                                       double delta) {
  const SortingOutputs out = checked_sorting_outputs(scores, values, delta);
  const int64_t m = scores.numel();
  if (m == 0) {
    return out.tuple();
  }
  const at::Tensor p = scores.contiguous();
  const at::Tensor y_tensor = values.contiguous();
  const double* p_data = p.data_ptr<double>();
  const double* y = y_tensor.data_ptr<double>();
  std::vector<double> scaled(m), misfit(m), coefficient(m), self_update(m);
  for (int64_t k = 0; k < m; ++k) {
    scaled[k] = p_data[k] / (2.0 * delta);
    misfit[k] = 1.0 - y[k];
  }
  double* rank_pos_data = out.rank_pos.data_ptr<double>();
  double* error_data = out.error.data_ptr<double>();
  double* update_data = out.update.data_ptr<double>();
  // About 32k pairs per task.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / m);
  at::parallel_for(0, m, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const SortingRow row = sorting_row(scaled.data(), y, misfit.data(), m, i);
      rank_pos_data[i] = row.rank_pos;
      error_data[i] = row.error;
      coefficient[i] = row.coefficient;
      self_update[i] = row.self_update;
    }
  });
  at::parallel_for(0, m, grain, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      update_data[k] = sorting_column(scaled.data(), y, coefficient.data(), m, k) + self_update[k];
    }
  });
  return out.tuple();
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_losses, CPU, m) {
  m.impl("rank_sort_positives", &rank_sort_positives_cpu);
}

}  // namespace mmdet_losses
