// The arithmetic of the AP-Loss ranking op, shared by the CPU and the CUDA kernel.
//
// Positives are sorted ascending, p[0] <= ... <= p[m-1]. A score x (a negative, or a positive
// ranked against the others) contributes H(x - p[i]) to positive i, with
// H(d) = clamp(d / (2 delta) + 1/2, 0, 1). Over the sorted positives that is
//   1                                    for i <  lo   (p[i] <  x - delta)
//   (x + delta - p[i]) / (2 delta)       for lo <= i < hi
//   0                                    for i >= hi   (p[i] >= x + delta)
// so each score touches three slots of difference arrays over the positives, and sums over all
// scores come out of one prefix sum instead of a loop over every (positive, score) pair.
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <type_traits>
#include <vector>

#ifdef __CUDACC__
#define AP_RANK_HOST_DEVICE __host__ __device__
#else
#define AP_RANK_HOST_DEVICE
#endif

namespace mmdet_losses {

// First index in sorted[0, m) whose value is >= value. Branchless: each step is a conditional
// move, so random scores cost no mispredictions and successive searches overlap.
AP_RANK_HOST_DEVICE inline int64_t lower_bound(const double* sorted, int64_t m, double value) {
  if (m == 0) {
    return 0;
  }
  const double* base = sorted;
  int64_t count = m;
  while (count > 1) {
    const int64_t half = count / 2;
    base = base[half] < value ? base + half : base;
    count -= half;
  }
  return (base - sorted) + (*base < value ? 1 : 0);
}

// Searches in the m sorted positive scores by binary search.
struct SortedScores {
  const double* p;
  int64_t m;
  AP_RANK_HOST_DEVICE int64_t lower_bound(double value) const {
    return mmdet_losses::lower_bound(p, m, value);
  }
};

// Searches in the m sorted positive scores in O(1) on average: a uniform grid of cells over
// [p[0], p[m-1]], and a search finishes among the positives of the query's own cell. Positives are
// put into cells by the same function as queries, and that function is monotone under IEEE
// rounding, so positives in lower cells are < the query and those in higher cells are > it. The
// answer therefore lies in [start of the query's cell, + window], where window (a power of two) is
// the largest cell occupancy: every search takes the same log2(window) branchless steps, which the
// CPU predicts perfectly. p is padded with window entries of +inf so that no step reads past it.
struct GridScores {
  const double* p;            // m sorted scores, then window entries of +inf
  int64_t m;
  const int32_t* cell_start;  // cells + 2 entries: the first positive of each cell, then m
  int64_t cells;              // the cell index of a score is in [0, cells]
  double cells_per_unit;
  int64_t window;

  AP_RANK_HOST_DEVICE int64_t cell_of(double value) const {
    const double cell = (value - p[0]) * cells_per_unit;
    const double last = static_cast<double>(cells);
    // Written so that NaN (inf * 0 in a single-cell grid) lands in cell 0.
    return static_cast<int64_t>(cell > 0.0 ? (cell < last ? cell : last) : 0.0);
  }

  AP_RANK_HOST_DEVICE int64_t lower_bound(double value) const {
    const int64_t first = cell_start[cell_of(value)];
    return first + mmdet_losses::lower_bound(p + first, window, value);
  }
};

// The arrays behind a GridScores, built on the host from the m >= 1 sorted scores: 4m cells
// (fastest on the CPU of 2m, 4m and 8m), or a single cell (plain binary search) when their range is
// empty or too narrow to divide.
struct GridTable {
  std::vector<double> padded_p;
  std::vector<int32_t> cell_start;  // int32: half the bytes that the CUDA blocks copy
  int64_t m = 0;
  int64_t cells = 0;
  double cells_per_unit = 0.0;
  int64_t window = 1;

  GridTable() = default;
  GridTable(const double* p, int64_t m);
  GridScores view() const {
    return {padded_p.data(), m, cell_start.data(), cells, cells_per_unit, window};
  }
};

struct Window {
  int64_t lo;
  int64_t hi;
};

template <typename Scores>
AP_RANK_HOST_DEVICE inline Window window_of(const Scores& sorted, double x, double delta) {
  return {sorted.lower_bound(x - delta), sorted.lower_bound(x + delta)};
}

// Integer targets (AP-Loss): 1 a positive, 0 a negative, -1 ignored. Floating targets (Rank &
// Sort): y in (0, 1] a positive whose sorting target is y, 0 a negative, -1 ignored. Any other value
// (NaN included) is invalid. The integer tests are written as ranges, which compile to one unsigned
// comparison each (the passes test every entry).
template <typename target_t>
using target_value_t = std::conditional_t<std::is_integral_v<target_t> || std::is_same_v<target_t, double>,
                                          target_t, float>;  // fp16 and bf16 compared as float

template <typename target_t>
AP_RANK_HOST_DEVICE inline target_value_t<target_t> target_value(target_t t) {
  return static_cast<target_value_t<target_t>>(t);
}

template <typename target_t>
AP_RANK_HOST_DEVICE inline bool negative_or_ignored(target_t t) {
  const auto v = target_value(t);
  return std::is_integral_v<target_t> ? (v >= -1) & (v <= 0) : (v == 0) | (v == -1);
}

template <typename target_t>
AP_RANK_HOST_DEVICE inline bool valid_target(target_t t) {
  const auto v = target_value(t);
  return std::is_integral_v<target_t> ? (v >= -1) & (v <= 1) : negative_or_ignored(v) | ((v > 0) & (v <= 1));
}

template <typename target_t>
AP_RANK_HOST_DEVICE inline bool is_negative_target(target_t t) {
  return target_value(t) == 0;
}

// A run of consecutive scores whose windows share an edge slot, added up before it reaches the
// slots: clustered scores (early in training most negatives share one window) would otherwise
// chain every update through the same few slots, or the same few atomics on the GPU.
struct SlotRun {
  int64_t slot = -1;  // none yet
  double count = 0.0;  // as the slots hold it: no conversion per run
  double total = 0.0;
};

// The update of SlotArrays::add_run where a single thread owns the slots.
struct AddInPlace {
  template <typename T>
  AP_RANK_HOST_DEVICE void operator()(T* at, T value) const {
    *at += value;
  }
};

// Difference arrays of m + 1 slots. After prefix sums (see ranked_sums), slot i holds:
//   full[i]: how many scores have H = 1 against positive i (added at lo, summed as a suffix),
//   count[i], total[i]: how many scores have positive i inside their window, and their sum.
// count_t is double, except in the CUDA kernel's shared memory (int, see bin_negatives there).
template <typename count_t>
struct SlotArrays {
  count_t* full;
  count_t* count;
  double* total;

  // Adds the run's scores where their windows start (at_lo), or takes them off where the windows
  // end; add(address, value) makes each update (AddInPlace, or atomics where threads share slots).
  template <typename Add>
  AP_RANK_HOST_DEVICE void add_run(const SlotRun& run, bool at_lo, Add&& add) const {
    const count_t n = static_cast<count_t>(run.count);
    if (at_lo) {
      add(&full[run.slot], n);
      add(&count[run.slot], n);
      add(&total[run.slot], run.total);
    } else {
      add(&count[run.slot], -n);
      add(&total[run.slot], -run.total);
    }
  }
};

using RankSlots = SlotArrays<double>;

// The RankSlots laid out in one buffer of rank_slots_size(m) doubles: full, count, total.
AP_RANK_HOST_DEVICE inline int64_t rank_slots_size(int64_t m) {
  return 3 * (m + 1);
}

AP_RANK_HOST_DEVICE inline RankSlots rank_slots_in(double* buffer, int64_t m) {
  return {buffer, buffer + (m + 1), buffer + 2 * (m + 1)};
}

// `count` scores with the same window w, whose sum is `total`.
AP_RANK_HOST_DEVICE inline void add_scores(const RankSlots& slots, Window w, double count, double total) {
  slots.add_run(SlotRun{w.lo, count, total}, /*at_lo=*/true, AddInPlace{});
  slots.add_run(SlotRun{w.hi, count, total}, /*at_lo=*/false, AddInPlace{});
}

// The runs at the lo edges and at the hi edges of a stream of windows. flush(run, at_lo) gets
// each run as it ends, and the last two from finish.
struct WindowRuns {
  SlotRun lo;
  SlotRun hi;

  template <typename Flush>
  AP_RANK_HOST_DEVICE void add(Window w, double x, Flush&& flush) {
    extend(lo, w.lo, /*at_lo=*/true, x, flush);
    extend(hi, w.hi, /*at_lo=*/false, x, flush);
  }

  template <typename Flush>
  AP_RANK_HOST_DEVICE void finish(Flush&& flush) {
    if (lo.slot >= 0) {
      flush(lo, /*at_lo=*/true);
    }
    if (hi.slot >= 0) {
      flush(hi, /*at_lo=*/false);
    }
    lo = hi = SlotRun{};
  }

 private:
  template <typename Flush>
  AP_RANK_HOST_DEVICE static void extend(SlotRun& run, int64_t slot, bool at_lo, double x, Flush& flush) {
    if (slot != run.slot) {
      if (run.slot >= 0) {
        flush(run, at_lo);
      }
      run = SlotRun{slot, 0.0, 0.0};
    }
    run.count += 1.0;
    run.total += x;
  }
};

// The sum over the accumulated scores of H(x - p[i]), for positive i.
AP_RANK_HOST_DEVICE inline double ranked_sum(double full_above, double count, double total,
                                             double p_i, double delta) {
  return full_above + (total + (delta - p_i) * count) / (2.0 * delta);
}

// Every positive's sum over the binned scores of H(x - p[i]) (over the negatives: its false-positive
// sum), from the slots as add_run left them (consumed in place).
std::vector<double> ranked_sums(const double* p, int64_t m, double delta, const RankSlots& slots);

struct PositiveRanking {
  std::vector<double> gradients;  // of each sorted positive: -(1 - iprec) / m, iprec its
                                  // interpolated (or plain) precision
  std::vector<double> prefixes;   // weight_prefixes of w_i = c_i / rank(i): what pass 2 takes
  double loss;                    // 1 - mean(iprec)
};

// The per-positive part of the op, O(m log m), run on the host between the two passes over the
// negatives. p: the m >= 1 sorted positive scores; false_positives: their fp sums.
PositiveRanking rank_positives(const double* p, int64_t m, double delta, bool interpolated,
                               const std::vector<double>& false_positives);

// Prefix sums of w and of w * p over the sorted positives, m + 1 each, concatenated: what pass 2
// needs to turn a window into sum_i w_i H(x - p[i]).
std::vector<double> weight_prefixes(const double* p, const double* w, int64_t m);

// Argument checks shared by every backend; value checks (targets in {-1, 0, 1}, finite scores)
// happen inside the kernels' passes and report through these.
void check_ap_rank_args(const at::Tensor& scores, const at::Tensor& targets, double delta);
// The public passes' further arguments: sorted_positives (and weights, when defined) are 1-D
// float64 on the scores' device. Their values are checked on the host copy by check_positive_values.
void check_pass_args(const char* op, const at::Tensor& scores, const at::Tensor& targets,
                     const at::Tensor& sorted_positives, const at::Tensor& weights, double delta);
void check_positive_values(const char* op, const double* p, const double* w, int64_t m);
[[noreturn]] void raise_bad_target(int64_t flat_index, int64_t value);
[[noreturn]] void raise_bad_rank_sort_target(int64_t flat_index, double value);
// The error for an invalid target of either kind.
template <typename target_t>
[[noreturn]] void raise_bad_target_value(int64_t flat_index, target_t value) {
  if constexpr (std::is_integral_v<target_t>) {
    raise_bad_target(flat_index, static_cast<int64_t>(value));
  } else {
    raise_bad_rank_sort_target(flat_index, static_cast<double>(value));
  }
}
[[noreturn]] void raise_nonfinite_score(int64_t flat_index, double value);

// sum_i w_i H(x - p[i]) for a negative with score x, from the prefix sums of w and w * p.
AP_RANK_HOST_DEVICE inline double negative_weight_sum(const double* w_prefix, const double* wp_prefix,
                                                      Window w, double x, double delta) {
  const double window_w = w_prefix[w.hi] - w_prefix[w.lo];
  const double window_wp = wp_prefix[w.hi] - wp_prefix[w.lo];
  return w_prefix[w.lo] + ((x + delta) * window_w - window_wp) / (2.0 * delta);
}

// Runs body.template operator()<score_t, target_t>() for the dtypes of scores and targets.
template <typename Body>
void dispatch_types(const at::Tensor& scores, const at::Tensor& targets, Body&& body) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, scores.scalar_type(), "mmdet_losses", [&] {
    using score_t = scalar_t;
    AT_DISPATCH_INTEGRAL_TYPES(targets.scalar_type(), "mmdet_losses", [&] {
      body.template operator()<score_t, scalar_t>();
    });
  });
}

// A backend's three ops. Kernel provides, for contiguous inputs of the given dtypes:
//   ap_rank<score_t, target_t>(scores, targets, delta, interpolated) -> (loss, grad)
//   count_false_positives<score_t, target_t>(scores, targets, sorted_positives, delta) -> fp
//   weigh_negatives<score_t, target_t>(scores, targets, sorted_positives, weights, delta) -> g
template <typename Kernel>
std::tuple<at::Tensor, at::Tensor> dispatch_ap_rank(const at::Tensor& scores, const at::Tensor& targets,
                                                    double delta, bool interpolated) {
  check_ap_rank_args(scores, targets, delta);
  const at::Tensor contiguous_scores = scores.contiguous();
  const at::Tensor contiguous_targets = targets.contiguous();
  std::tuple<at::Tensor, at::Tensor> out;
  dispatch_types(scores, targets, [&]<typename score_t, typename target_t>() {
    out = Kernel::template ap_rank<score_t, target_t>(contiguous_scores, contiguous_targets, delta,
                                                      interpolated);
  });
  return out;
}

template <typename Kernel>
at::Tensor dispatch_false_positive_sums(const at::Tensor& scores, const at::Tensor& targets,
                                        const at::Tensor& sorted_positives, double delta) {
  check_pass_args("false_positive_sums", scores, targets, sorted_positives, at::Tensor(), delta);
  const at::Tensor contiguous_scores = scores.contiguous();
  const at::Tensor contiguous_targets = targets.contiguous();
  at::Tensor out;
  dispatch_types(scores, targets, [&]<typename score_t, typename target_t>() {
    out = Kernel::template count_false_positives<score_t, target_t>(
        contiguous_scores, contiguous_targets, sorted_positives.contiguous(), delta);
  });
  return out;
}

template <typename Kernel>
at::Tensor dispatch_negative_weight_sums(const at::Tensor& scores, const at::Tensor& targets,
                                         const at::Tensor& sorted_positives, const at::Tensor& weights,
                                         double delta) {
  check_pass_args("negative_weight_sums", scores, targets, sorted_positives, weights, delta);
  const at::Tensor contiguous_scores = scores.contiguous();
  const at::Tensor contiguous_targets = targets.contiguous();
  at::Tensor out;
  dispatch_types(scores, targets, [&]<typename score_t, typename target_t>() {
    out = Kernel::template weigh_negatives<score_t, target_t>(
        contiguous_scores, contiguous_targets, sorted_positives.contiguous(), weights.contiguous(), delta);
  });
  return out;
}

}  // namespace mmdet_losses
