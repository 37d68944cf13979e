// CPU kernel of mmdet_losses::ap_rank: SPEC section 1's O(|N| log |P|) method, with each thread
// accumulating its own difference arrays (no shared writes in the passes over the negatives).
#include "../ap_rank.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace mmdet_losses {
namespace {

constexpr int64_t kMinChunk = 1 << 16;

// Contiguous ranges of the flat input, one per thread (fewer for small inputs).
struct Chunks {
  int64_t n;
  int64_t size;
  int64_t count;
  int64_t begin(int64_t c) const { return c * size; }
  int64_t end(int64_t c) const { return std::min(n, (c + 1) * size); }
};

Chunks split(int64_t n) {
  const int64_t count = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), n / kMinChunk));
  return {n, std::max<int64_t>(1, (n + count - 1) / count), count};
}

// Pass 0, over the targets only: checks every value and returns the positives' flat indices in
// ascending order.
template <typename target_t>
at::Tensor find_positives(const target_t* t, const Chunks& chunks) {
  std::vector<std::vector<int64_t>> found(chunks.count);
  std::vector<int64_t> first_bad(chunks.count, -1);
  at::parallel_for(0, chunks.count, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      for (int64_t j = chunks.begin(c); j < chunks.end(c); ++j) {
        const int64_t v = static_cast<int64_t>(t[j]);
        if (v == 1) {
          found[c].push_back(j);
        } else if (v != 0 && v != -1) {
          first_bad[c] = j;
          break;
        }
      }
    }
  });
  int64_t m = 0;
  for (int64_t c = 0; c < chunks.count; ++c) {
    if (first_bad[c] >= 0) {
      raise_bad_target(first_bad[c], static_cast<int64_t>(t[first_bad[c]]));
    }
    m += static_cast<int64_t>(found[c].size());
  }
  at::Tensor index = at::empty({m}, at::dtype(at::kLong));
  int64_t* out = index.data_ptr<int64_t>();
  for (const auto& part : found) {
    out = std::copy(part.begin(), part.end(), out);
  }
  return index;
}

struct CpuKernel {
  template <typename score_t, typename target_t>
  static std::tuple<at::Tensor, at::Tensor> run(const at::Tensor& scores, const at::Tensor& targets,
                                                double delta, bool interpolated) {
    const int64_t n = scores.numel();
    const score_t* s = scores.const_data_ptr<score_t>();
    const target_t* t = targets.const_data_ptr<target_t>();
    const Chunks chunks = split(n);

    const at::Tensor positive_index = find_positives(t, chunks);
    const int64_t m = positive_index.numel();
    const auto [sorted_scores, sorted_index] = sort_positives(scores.view(-1), positive_index);
    const double* p = sorted_scores.const_data_ptr<double>();
    const double lowest = m > 0 ? p[0] : 0.0;
    const GridTable table = m > 0 ? GridTable(p, m) : GridTable{};
    const GridScores grid = table.view();

    // Pass 1: checks every score; bins each negative that reaches a positive's window.
    const int64_t slots = 3 * (m + 1);
    std::vector<double> thread_slots(chunks.count * slots, 0.0);
    std::vector<int64_t> first_nonfinite(chunks.count, -1);
    at::parallel_for(0, chunks.count, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        double* base = thread_slots.data() + c * slots;
        const RankSlots local{base, base + (m + 1), base + 2 * (m + 1)};
        for (int64_t j = chunks.begin(c); j < chunks.end(c); ++j) {
          const double x = static_cast<double>(s[j]);
          if (!std::isfinite(x)) {
            first_nonfinite[c] = j;
            break;
          }
          if (m > 0 && t[j] == 0 && x + delta > lowest) {
            add_score(local, window_of(grid, x, delta), x);
          }
        }
      }
    });
    for (int64_t c = 0; c < chunks.count; ++c) {
      if (first_nonfinite[c] >= 0) {
        raise_nonfinite_score(first_nonfinite[c], static_cast<double>(s[first_nonfinite[c]]));
      }
    }
    if (m == 0) {
      return {at::zeros({}, scores.options()), at::zeros_like(scores)};
    }
    for (int64_t c = 1; c < chunks.count; ++c) {
      const double* part = thread_slots.data() + c * slots;
      for (int64_t k = 0; k < slots; ++k) {
        thread_slots[k] += part[k];
      }
    }
    const PositiveRanking ranking = rank_positives(
        p, m, delta, interpolated,
        RankSlots{thread_slots.data(), thread_slots.data() + (m + 1), thread_slots.data() + 2 * (m + 1)});

    // Pass 2 writes every entry once: the negatives' gradients, 0 elsewhere; finish_positives
    // then fills in the positives.
    const double inv_m = 1.0 / static_cast<double>(m);
    const double* w_prefix = ranking.w_prefix.data();
    const double* wp_prefix = ranking.wp_prefix.data();
    at::Tensor grad = at::empty_like(scores);
    score_t* g = grad.mutable_data_ptr<score_t>();
    at::parallel_for(0, chunks.count, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t j = chunks.begin(c0); j < chunks.end(c1 - 1); ++j) {
        const double x = static_cast<double>(s[j]);
        double gradient = 0.0;
        if (t[j] == 0 && x + delta > lowest) {
          gradient = negative_gradient(w_prefix, wp_prefix, window_of(grid, x, delta), x, delta, inv_m);
        }
        g[j] = static_cast<score_t>(gradient);
      }
    });
    const at::Tensor loss = finish_positives(ranking, sorted_index, grad);
    return {loss, grad};
  }
};


}  // namespace

TORCH_LIBRARY_IMPL(mmdet_losses, CPU, m) {
  m.impl("ap_rank", &dispatch_ap_rank<CpuKernel>);
}

}  // namespace mmdet_losses
