// CPU kernels of mmdet_losses::ap_rank and its two public passes: the O(|N| log |P|) method of
// ap_rank.h, with each thread accumulating its own difference arrays (no shared writes in the passes
// over the negatives).
#include "../ap_rank.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
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

// The first invalid entry a pass met, in flat order: a target outside {-1, 0, 1} or a non-finite
// score. Each thread records its chunk's first; raise_first reports the earliest.
struct FirstInvalid {
  std::vector<int64_t> index;
  explicit FirstInvalid(int64_t chunks) : index(chunks, -1) {}

  template <typename score_t, typename target_t>
  void raise_first(const score_t* s, const target_t* t) const {
    for (const int64_t j : index) {
      if (j < 0) {
        continue;
      }
      const int64_t v = static_cast<int64_t>(t[j]);
      if (v != 0 && v != 1 && v != -1) {
        raise_bad_target(j, v);
      }
      raise_nonfinite_score(j, static_cast<double>(s[j]));
    }
  }
};

// Visits every entry (score x as double, target v) in flat order, each chunk on a thread with its
// own visitor, make_visitor(chunk): visitor(j, x, v) per valid entry, then visitor.finish(). The
// visitor is a local of the thread, so the compiler keeps its fields in registers. Raises for the
// earliest invalid entry (a chunk stops at its first).
template <typename score_t, typename target_t, typename MakeVisitor>
void for_each_entry(const score_t* s, const target_t* t, const Chunks& chunks, MakeVisitor&& make_visitor) {
  FirstInvalid invalid(chunks.count);
  at::parallel_for(0, chunks.count, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      auto visit = make_visitor(c);
      for (int64_t j = chunks.begin(c); j < chunks.end(c); ++j) {
        const double x = static_cast<double>(s[j]);
        const int64_t v = static_cast<int64_t>(t[j]);
        if (!std::isfinite(x) || (v != 0 && v != 1 && v != -1)) {
          invalid.index[c] = j;
          break;
        }
        visit(j, x, v);
      }
      visit.finish();
    }
  });
  invalid.raise_first(s, t);
}

// add_score for a stream of scores, with each run of scores that share a slot added up in
// registers first. Clustered scores (early in training all negatives share one window) would
// otherwise chain every update through the same few memory slots.
struct SlotRuns {
  int64_t lo = -1;
  double lo_count = 0.0, lo_total = 0.0;
  int64_t hi = -1;
  double hi_count = 0.0, hi_total = 0.0;

  void add(const RankSlots& slots, Window w, double x) {
    if (w.lo != lo) {
      flush_lo(slots);
      lo = w.lo;
    }
    lo_count += 1.0;
    lo_total += x;
    if (w.hi != hi) {
      flush_hi(slots);
      hi = w.hi;
    }
    hi_count += 1.0;
    hi_total += x;
  }
  void flush(const RankSlots& slots) {
    flush_lo(slots);
    flush_hi(slots);
  }

 private:
  void flush_lo(const RankSlots& slots) {
    if (lo >= 0) {
      slots.full[lo] += lo_count;
      slots.count[lo] += lo_count;
      slots.total[lo] += lo_total;
    }
    lo_count = lo_total = 0.0;
  }
  void flush_hi(const RankSlots& slots) {
    if (hi >= 0) {
      slots.count[hi] -= hi_count;
      slots.total[hi] -= hi_total;
    }
    hi_count = hi_total = 0.0;
  }
};

// A negative's window over the sorted positives, kept by pass 1 for pass 2 where both run in one
// call: two int32 are cheaper to write and read back than two searches are to repeat.
struct StoredWindow {
  int32_t lo;
  int32_t hi;
};

// The lowest positive score: a negative x reaches a positive's window exactly when x + delta is
// above it. Without positives, none does.
double lowest_positive(const GridScores& grid) {
  return grid.m > 0 ? grid.p[0] : std::numeric_limits<double>::infinity();
}

// Pass 1 over one chunk: bins each negative that reaches a positive's window into the chunk's
// difference arrays, storing its window when `windows` is given.
struct NegativeBinner {
  GridScores grid;
  double delta;
  double lowest;
  RankSlots slots;
  StoredWindow* windows;
  SlotRuns runs;

  void operator()(int64_t j, double x, int64_t v) {
    if (v == 0 && x + delta > lowest) {
      const Window w = window_of(grid, x, delta);
      runs.add(slots, w, x);
      if (windows != nullptr) {
        windows[j] = {static_cast<int32_t>(w.lo), static_cast<int32_t>(w.hi)};
      }
    }
  }
  void finish() { runs.flush(slots); }
};

// Pass 1: checks every entry and bins each negative that reaches a positive's window into
// per-thread difference arrays, then adds them up: 3 (m + 1) slots (full, count, total). With
// `windows`, also stores each such negative's window at its index.
template <typename score_t, typename target_t>
std::vector<double> bin_negatives(const score_t* s, const target_t* t, const Chunks& chunks,
                                  const GridScores& grid, double delta, StoredWindow* windows = nullptr) {
  const int64_t m = grid.m;
  const int64_t slots = 3 * (m + 1);
  std::vector<double> thread_slots(chunks.count * slots, 0.0);
  for_each_entry(s, t, chunks, [&](int64_t c) {
    double* base = thread_slots.data() + c * slots;
    return NegativeBinner{grid, delta, lowest_positive(grid),
                          RankSlots{base, base + (m + 1), base + 2 * (m + 1)}, windows, SlotRuns{}};
  });
  thread_slots.resize(slots);
  for (int64_t c = 1; c < chunks.count; ++c) {
    const double* part = thread_slots.data() + c * slots;
    for (int64_t k = 0; k < slots; ++k) {
      thread_slots[k] += part[k];
    }
  }
  return thread_slots;
}

// Pass 2 over one chunk: writes scale * sum_i w_i H(x - p[i]) at each negative, 0 elsewhere.
template <typename score_t>
struct NegativeSumWriter {
  GridScores grid;
  double delta;
  double lowest;
  double scale;
  const double* w_prefix;
  const double* wp_prefix;
  const StoredWindow* windows;
  score_t* out;

  void operator()(int64_t j, double x, int64_t v) {
    double sum = 0.0;
    if (v == 0 && x + delta > lowest) {
      const Window w = windows != nullptr ? Window{windows[j].lo, windows[j].hi} : window_of(grid, x, delta);
      sum = scale * negative_weight_sum(w_prefix, wp_prefix, w, x, delta);
    }
    out[j] = static_cast<score_t>(sum);
  }
  void finish() {}
};

// Pass 2: writes every entry once, scale * sum_i w_i H(s_j - p[i]) at the negatives (prefixes:
// weight_prefixes of w), 0 elsewhere. Checks every entry as pass 1 does. With `windows` (stored
// by pass 1 over the same entries and positives) it reads the negatives' windows instead of
// searching again.
template <typename score_t, typename target_t>
void write_negative_sums(const score_t* s, const target_t* t, const Chunks& chunks, const GridScores& grid,
                         const double* prefixes, double delta, double scale, score_t* g,
                         const StoredWindow* windows = nullptr) {
  const NegativeSumWriter<score_t> writer{grid, delta, lowest_positive(grid), scale, prefixes,
                                          prefixes + (grid.m + 1), windows, g};
  for_each_entry(s, t, chunks, [&](int64_t) { return writer; });
}

RankSlots slots_of(std::vector<double>& slots, int64_t m) {
  return {slots.data(), slots.data() + (m + 1), slots.data() + 2 * (m + 1)};
}

GridTable grid_of(const double* p, int64_t m) {
  return m > 0 ? GridTable(p, m) : GridTable{};
}

struct CpuKernel {
  template <typename score_t, typename target_t>
  static std::tuple<at::Tensor, at::Tensor> ap_rank(const at::Tensor& scores, const at::Tensor& targets,
                                                    double delta, bool interpolated) {
    const score_t* s = scores.const_data_ptr<score_t>();
    const target_t* t = targets.const_data_ptr<target_t>();
    const Chunks chunks = split(scores.numel());

    const at::Tensor positive_index = find_positives(t, chunks);
    const int64_t m = positive_index.numel();
    const auto [sorted_scores, sorted_index] = sort_positives(scores.view(-1), positive_index);
    const double* p = sorted_scores.const_data_ptr<double>();
    const GridTable table = grid_of(p, m);
    // Uninitialised: pass 1 writes the windows that pass 2 reads, and no others.
    std::unique_ptr<StoredWindow[]> windows(m > 0 ? new StoredWindow[scores.numel()] : nullptr);
    std::vector<double> slots = bin_negatives(s, t, chunks, table.view(), delta, windows.get());
    if (m == 0) {
      return {at::zeros({}, scores.options()), at::zeros_like(scores)};
    }
    const PositiveRanking ranking = rank_positives(
        p, m, delta, interpolated,
        mmdet_losses::false_positive_sums(p, m, delta, slots_of(slots, m)));

    // Pass 2 writes the negatives' gradients and 0 elsewhere; finish_positives then fills in the
    // positives.
    at::Tensor grad = at::empty_like(scores);
    write_negative_sums(s, t, chunks, table.view(), ranking.prefixes.data(), delta,
                        1.0 / static_cast<double>(m),
                        grad.mutable_data_ptr<score_t>(), windows.get());
    const at::Tensor loss = finish_positives(ranking, sorted_index, grad);
    return {loss, grad};
  }

  template <typename score_t, typename target_t>
  static at::Tensor false_positive_sums(const at::Tensor& scores, const at::Tensor& targets,
                                        const at::Tensor& sorted_positives, double delta) {
    const int64_t m = sorted_positives.numel();
    const double* p = sorted_positives.const_data_ptr<double>();
    check_positive_values("false_positive_sums", p, nullptr, m);
    const GridTable table = grid_of(p, m);
    std::vector<double> slots = bin_negatives(scores.const_data_ptr<score_t>(),
                                              targets.const_data_ptr<target_t>(),
                                              split(scores.numel()), table.view(), delta);
    const std::vector<double> sums = mmdet_losses::false_positive_sums(p, m, delta, slots_of(slots, m));
    return at::tensor(sums, at::dtype(at::kDouble)).view({m});
  }

  template <typename score_t, typename target_t>
  static at::Tensor negative_weight_sums(const at::Tensor& scores, const at::Tensor& targets,
                                         const at::Tensor& sorted_positives, const at::Tensor& weights,
                                         double delta) {
    const int64_t m = sorted_positives.numel();
    const double* p = sorted_positives.const_data_ptr<double>();
    const double* w = weights.const_data_ptr<double>();
    check_positive_values("negative_weight_sums", p, w, m);
    const GridTable table = grid_of(p, m);
    at::Tensor sums = at::empty_like(scores);
    const std::vector<double> prefixes = weight_prefixes(p, w, m);
    write_negative_sums(scores.const_data_ptr<score_t>(), targets.const_data_ptr<target_t>(),
                        split(scores.numel()), table.view(), prefixes.data(), delta, 1.0,
                        sums.mutable_data_ptr<score_t>());
    return sums;
  }
};

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_losses, CPU, m) {
  m.impl("ap_rank", &dispatch_ap_rank<CpuKernel>);
  m.impl("false_positive_sums", &dispatch_false_positive_sums<CpuKernel>);
  m.impl("negative_weight_sums", &dispatch_negative_weight_sums<CpuKernel>);
}

}  // namespace mmdet_losses
