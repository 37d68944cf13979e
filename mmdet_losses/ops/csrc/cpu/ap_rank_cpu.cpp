// CPU kernels of mmdet_losses::ap_rank and its two public passes: the O(|N| log |P|) method of
// ap_rank.h, with each thread accumulating its own difference arrays (no shared writes in the passes
// over the negatives).
#include "../ap_rank.h"
#include "../rank_sort.h"
#include "ap_rank_cpu_avx2.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <vector>

namespace mmdet_losses {
namespace {

constexpr int64_t kMinChunk = 1 << 16;
// Entries are addressed by int32 offsets within their chunk.
constexpr int64_t kMaxChunk = std::numeric_limits<int32_t>::max();

// Contiguous ranges of the flat input, one per thread (fewer for small inputs).
struct Chunks {
  int64_t n;
  int64_t size;
  int64_t count;
  int64_t begin(int64_t c) const { return c * size; }
  int64_t end(int64_t c) const { return std::min(n, (c + 1) * size); }
};

Chunks split(int64_t n) {
  const int64_t threads = std::min<int64_t>(at::get_num_threads(), n / kMinChunk);
  const int64_t count = std::max<int64_t>({1, threads, (n + kMaxChunk - 1) / kMaxChunk});
  return {n, std::max<int64_t>(1, (n + count - 1) / count), count};
}

// The first j in [from, end) whose target is a positive or invalid, or end. Blocks of 64 targets
// holding only negatives and ignored entries are skipped by a test the compiler vectorises (AVX2,
// for int8 and fp32 targets: by a test written with it).
template <typename target_t>
int64_t next_positive_or_invalid(const target_t* t, int64_t from, int64_t end, bool avx2) {
  if constexpr (std::is_same_v<target_t, int8_t> || std::is_same_v<target_t, float>) {
    if (avx2) {
      return next_positive_or_invalid_avx2(t, from, end);
    }
  }
  constexpr int64_t kBlock = 64;
  for (; from < end; from = std::min(from + kBlock, end)) {
    const int64_t block_end = std::min(from + kBlock, end);
    bool found = false;
    for (int64_t k = from; k < block_end; ++k) {
      found |= !negative_or_ignored(t[k]);
    }
    if (found) {
      for (; negative_or_ignored(t[from]); ++from) {
      }
      return from;
    }
  }
  return end;
}

// Pass 0, over the targets only: checks every value and returns the positives' flat indices in
// ascending order.
template <typename target_t>
std::vector<int64_t> find_positives(const target_t* t, const Chunks& chunks, bool avx2) {
  std::vector<std::vector<int64_t>> found(chunks.count);
  std::vector<int64_t> first_bad(chunks.count, -1);
  at::parallel_for(0, chunks.count, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t end = chunks.end(c);
      for (int64_t j = next_positive_or_invalid(t, chunks.begin(c), end, avx2); j < end;
           j = next_positive_or_invalid(t, j + 1, end, avx2)) {
        if (!valid_target(t[j])) {
          first_bad[c] = j;
          break;
        }
        found[c].push_back(j);
      }
    }
  });
  for (int64_t c = 0; c < chunks.count; ++c) {
    if (first_bad[c] >= 0) {
      raise_bad_target_value(first_bad[c], t[first_bad[c]]);
    }
  }
  std::vector<int64_t> index = std::move(found[0]);
  for (int64_t c = 1; c < chunks.count; ++c) {
    index.insert(index.end(), found[c].begin(), found[c].end());
  }
  return index;
}

// The positives' scores as float64, sorted ascending (ties by flat index), and their flat indices
// in that order. Sorted here, on the host where find_positives leaves them, not through the tensor
// ops of the CUDA kernel's sort_positives_on_device and finish_positives: those (index_select,
// sort, index_copy_) made ap_rank 3-12% slower at 2e6 x 1000 with 1000 positives (AVX2 kernel,
// alternated runs). std::sort needs a strict weak order, which NaN breaks, so a non-finite positive
// score is reported first: the first non-finite score of all, as the passes would.
struct SortedPositives {
  std::vector<double> p;
  std::vector<int64_t> index;
};

template <typename score_t>
SortedPositives sort_positives_on_host(const score_t* s, int64_t n, std::vector<int64_t> index) {
  for (const int64_t j : index) {
    if (!std::isfinite(static_cast<double>(s[j]))) {
      for (int64_t first = 0; first < n; ++first) {
        if (!std::isfinite(static_cast<double>(s[first]))) {
          raise_nonfinite_score(first, static_cast<double>(s[first]));
        }
      }
    }
  }
  std::sort(index.begin(), index.end(), [s](int64_t a, int64_t b) {
    const double x = static_cast<double>(s[a]), y = static_cast<double>(s[b]);
    return x < y || (x == y && a < b);
  });
  std::vector<double> p(index.size());
  for (size_t i = 0; i < index.size(); ++i) {
    p[i] = static_cast<double>(s[index[i]]);
  }
  return {std::move(p), std::move(index)};
}

// The op's outputs once the ranking is known: the positives' gradients go into grad (which holds
// the negatives'), and the loss.
template <typename score_t>
std::tuple<at::Tensor, at::Tensor> finish_positives(const PositiveRanking& ranking,
                                                    const std::vector<int64_t>& sorted_index, at::Tensor grad) {
  score_t* g = grad.mutable_data_ptr<score_t>();
  for (size_t i = 0; i < sorted_index.size(); ++i) {
    g[sorted_index[i]] = static_cast<score_t>(ranking.gradients[i]);
  }
  return {at::scalar_tensor(ranking.loss, grad.options()), grad};
}

// The first invalid entry a pass met, in flat order: an invalid target (valid_target) or a
// non-finite score. Each thread records its chunk's first; raise_first reports the earliest.
struct FirstInvalid {
  std::vector<int64_t> index;
  explicit FirstInvalid(int64_t chunks) : index(chunks, -1) {}

  template <typename score_t, typename target_t>
  void raise_first(const score_t* s, const target_t* t) const {
    for (const int64_t j : index) {
      if (j < 0) {
        continue;
      }
      if (!valid_target(t[j])) {
        raise_bad_target_value(j, t[j]);
      }
      raise_nonfinite_score(j, static_cast<double>(s[j]));
    }
  }
};

// A negative that reaches a positive's window (x + delta above the lowest positive), by its
// offset in its chunk, with its window once pass 1 has searched it.
struct Reaching {
  int32_t offset;
  int32_t lo;
  int32_t hi;
};

// The negatives of each chunk that reach a positive's window, gathered while every entry is
// checked: the test is branch-free (each entry is written, the count advances only for a reaching
// one), so that the searches run in a loop of their own without mispredicted branches. A chunk's
// list starts at the chunk's first entry of `reaching` (n entries, only the used ones touched) and
// stops at the chunk's first invalid entry. After each block of kGatherBlock entries,
// on_block(chunk, first, last) gets the block's reaching negatives while they are still in cache.
constexpr int64_t kGatherBlock = 4096;

struct ReachingNegatives {
  Chunks chunks;
  std::unique_ptr<Reaching[]> reaching;
  std::vector<int64_t> count;

  template <typename score_t, typename target_t, typename OnBlock>
  ReachingNegatives(const score_t* s, const target_t* t, const Chunks& chunks, double delta, double lowest,
                    OnBlock&& on_block)
      : chunks(chunks), reaching(new Reaching[std::max<int64_t>(chunks.n, 1)]), count(chunks.count, 0) {
    FirstInvalid invalid(chunks.count);
    at::parallel_for(0, chunks.count, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t begin = chunks.begin(c);
        Reaching* out = reaching.get() + begin;
        int64_t found = 0;
        for (int64_t block = begin; block < chunks.end(c) && invalid.index[c] < 0; block += kGatherBlock) {
          const int64_t block_found = found;
          for (int64_t j = block; j < std::min(block + kGatherBlock, chunks.end(c)); ++j) {
            const double x = static_cast<double>(s[j]);
            const target_t v = t[j];
            if (!std::isfinite(x) || !valid_target(v)) {
              invalid.index[c] = j;
              break;
            }
            out[found].offset = static_cast<int32_t>(j - begin);
            found += static_cast<int64_t>(is_negative_target(v) & (x + delta > lowest));
          }
          on_block(c, out + block_found, out + found);
        }
        count[c] = found;
      }
    });
    invalid.raise_first(s, t);
  }

  Reaching* begin(int64_t c) const { return reaching.get() + chunks.begin(c); }
  Reaching* end(int64_t c) const { return begin(c) + count[c]; }
};

// The flush of WindowRuns into slots that this thread alone writes.
auto adding_to(const RankSlots& slots) {
  return [slots](const SlotRun& run, bool at_lo) { slots.add_run(run, at_lo, AddInPlace{}); };
}

// The lowest positive score: a negative x reaches a positive's window exactly when x + delta is
// above it. Without positives, none does.
double lowest_positive(const GridScores& grid) {
  return grid.m > 0 ? grid.p[0] : std::numeric_limits<double>::infinity();
}

// The windows of kBatch scores at once: the same steps as window_of, taken in lockstep for the
// 2 kBatch searches, so that their dependent loads overlap instead of waiting one after another.
constexpr int kBatch = 8;

void windows_of_batch(const GridScores& grid, const double* x, double delta, Window* out) {
  double query[2 * kBatch];
  int64_t at[2 * kBatch];
  for (int k = 0; k < kBatch; ++k) {
    query[k] = x[k] - delta;
    query[kBatch + k] = x[k] + delta;
  }
  for (int k = 0; k < 2 * kBatch; ++k) {
    at[k] = grid.cell_start[grid.cell_of(query[k])];
  }
  for (int64_t count = grid.window; count > 1;) {
    const int64_t half = count / 2;
    for (int k = 0; k < 2 * kBatch; ++k) {
      at[k] = grid.p[at[k] + half] < query[k] ? at[k] + half : at[k];
    }
    count -= half;
  }
  for (int k = 0; k < kBatch; ++k) {
    out[k] = {at[k] + (grid.p[at[k]] < query[k] ? 1 : 0),
              at[kBatch + k] + (grid.p[at[kBatch + k]] < query[kBatch + k] ? 1 : 0)};
  }
}

// Pass 1, as the negatives are gathered: searches the window of each reaching negative (stored
// with it for pass 2) and bins it into its chunk's difference arrays, 3 (m + 1) slots each (full,
// count, total); sums() adds the chunks' up.
template <typename score_t>
class NegativeBins {
 public:
  NegativeBins(const score_t* s, const Chunks& chunks, const GridScores& grid, double delta)
      : s_(s), chunks_(chunks), grid_(grid), delta_(delta), slots_(rank_slots_size(grid.m)),
        chunk_slots_(chunks.count * slots_, 0.0), runs_(chunks.count) {}

  void operator()(int64_t c, Reaching* r, Reaching* const end) {
    // Locals, so that the compiler keeps them in registers across the stores into the slots.
    const GridScores grid = grid_;
    const double delta = delta_;
    const score_t* chunk_scores = s_ + chunks_.begin(c);
    const auto add_run = adding_to(slots_of(c));
    WindowRuns runs = runs_[c];
    double x[kBatch];
    Window w[kBatch];
    for (; end - r >= kBatch; r += kBatch) {
      for (int k = 0; k < kBatch; ++k) {
        x[k] = static_cast<double>(chunk_scores[r[k].offset]);
      }
      windows_of_batch(grid, x, delta, w);
      for (int k = 0; k < kBatch; ++k) {
        runs.add(w[k], x[k], add_run);
        r[k].lo = static_cast<int32_t>(w[k].lo);
        r[k].hi = static_cast<int32_t>(w[k].hi);
      }
    }
    for (; r != end; ++r) {
      const double score = static_cast<double>(chunk_scores[r->offset]);
      const Window window = window_of(grid, score, delta);
      runs.add(window, score, add_run);
      r->lo = static_cast<int32_t>(window.lo);
      r->hi = static_cast<int32_t>(window.hi);
    }
    runs_[c] = runs;
  }

  std::vector<double> sums() {
    for (int64_t c = 0; c < chunks_.count; ++c) {
      runs_[c].finish(adding_to(slots_of(c)));
    }
    std::vector<double> total(chunk_slots_.begin(), chunk_slots_.begin() + slots_);
    for (int64_t c = 1; c < chunks_.count; ++c) {
      const double* part = chunk_slots_.data() + c * slots_;
      for (int64_t k = 0; k < slots_; ++k) {
        total[k] += part[k];
      }
    }
    return total;
  }

 private:
  RankSlots slots_of(int64_t c) { return rank_slots_in(chunk_slots_.data() + c * slots_, grid_.m); }

  const score_t* s_;
  Chunks chunks_;
  GridScores grid_;
  double delta_;
  int64_t slots_;
  std::vector<double> chunk_slots_;
  std::vector<WindowRuns> runs_;
};

// Pass 2: writes every entry once, scale * sum_i w_i H(s_j - p[i]) at the reaching negatives
// (prefixes: weight_prefixes of w) and 0 elsewhere. Takes each negative's window as pass 1 stored
// it when `searched`, else searches it.
template <typename score_t>
void write_negative_sums(const score_t* s, const ReachingNegatives& negatives, const GridScores& grid,
                         const double* prefixes, double delta, double scale, score_t* g, bool searched) {
  const Chunks& chunks = negatives.chunks;
  at::parallel_for(0, chunks.count, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const GridScores chunk_grid = grid;
      const double chunk_delta = delta;
      const double chunk_scale = scale;
      const double* w_prefix = prefixes;
      const double* wp_prefix = prefixes + (grid.m + 1);
      const score_t* chunk_scores = s + chunks.begin(c);
      score_t* out = g + chunks.begin(c);
      std::fill(out, g + chunks.end(c), static_cast<score_t>(0));
      for (const Reaching* r = negatives.begin(c); r != negatives.end(c); ++r) {
        const double x = static_cast<double>(chunk_scores[r->offset]);
        const Window w = searched ? Window{r->lo, r->hi} : window_of(chunk_grid, x, chunk_delta);
        out[r->offset] = static_cast<score_t>(
            chunk_scale * negative_weight_sum(w_prefix, wp_prefix, w, x, chunk_delta));
      }
    }
  });
}

GridTable grid_of(const double* p, int64_t m) {
  return m > 0 ? GridTable(p, m) : GridTable{};
}

// The AVX2 kernel's pass 1, where it applies: fp32 scores, targets of a dtype it takes (int8, int32,
// int64 and the floating ones), an AVX2 CPU, m >= 1 and window edges within fp32. check_targets:
// pass 0's check of every target first (ap_rank and rank_sort have run pass 0 already; the public
// passes have not).
template <typename score_t, typename target_t>
std::optional<Avx2Ranking> avx2_pass1(bool avx2, bool check_targets, const at::Tensor& scores,
                                      const at::Tensor& targets, const double* p, int64_t m, double delta) {
  if constexpr (std::is_same_v<score_t, float>) {
    if (avx2 && m > 0) {
      if (check_targets) {
        find_positives(targets.const_data_ptr<target_t>(), split(scores.numel()), avx2);
      }
      return Avx2Ranking::pass1(scores, targets, p, m, delta);
    }
  }
  return std::nullopt;
}

// The portable kernel's pass 1 over the negatives: their windows in the grid of table (kept for
// pass 2) and every positive's false-positive sum.
struct PortablePass1 {
  ReachingNegatives negatives;
  std::vector<double> false_positives;
};

template <typename score_t, typename target_t>
PortablePass1 portable_pass1(const at::Tensor& scores, const at::Tensor& targets, const GridTable& table,
                             double delta) {
  const score_t* s = scores.const_data_ptr<score_t>();
  const Chunks chunks = split(scores.numel());
  NegativeBins<score_t> bins(s, chunks, table.view(), delta);
  ReachingNegatives negatives(s, targets.const_data_ptr<target_t>(), chunks, delta, lowest_positive(table.view()),
                              bins);
  std::vector<double> slots = bins.sums();
  std::vector<double> sums = ranked_sums(table.padded_p.data(), table.m, delta, rank_slots_in(slots.data(), table.m));
  return {std::move(negatives), std::move(sums)};
}

// Rank & Sort's negatives: pass 1 as in count_false_positives, then pass 2 as in weigh_negatives
// on the windows that pass 1 kept. (fp (m,) float64, g): g with the weights rank_sort_weight.
template <typename score_t, typename target_t>
std::tuple<at::Tensor, at::Tensor> rank_sort_negatives_cpu(const at::Tensor& scores, const at::Tensor& targets,
                                                           const double* p, const double* rank_pos, int64_t m,
                                                           double scale, double delta, bool check_targets) {
  if (std::optional<Avx2Ranking> fast = avx2_pass1<score_t, target_t>(avx2_kernel_enabled(), check_targets, scores,
                                                                      targets, p, m, delta)) {
    const std::vector<double> fp = fast->count_false_positives(p, delta);
    const std::vector<double> w = rank_sort_weights(fp, rank_pos, scale);
    at::Tensor g = fast->weigh_negatives(weight_prefixes(p, w.data(), m).data(), delta, 1.0);
    return {at::tensor(fp, at::dtype(at::kDouble)).view({m}), g};
  }
  const GridTable table = grid_of(p, m);
  const PortablePass1 pass1 = portable_pass1<score_t, target_t>(scores, targets, table, delta);
  const std::vector<double> w = rank_sort_weights(pass1.false_positives, rank_pos, scale);
  at::Tensor g = at::empty_like(scores);
  write_negative_sums(scores.const_data_ptr<score_t>(), pass1.negatives, table.view(),
                      weight_prefixes(p, w.data(), m).data(), delta, 1.0, g.mutable_data_ptr<score_t>(),
                      /*searched=*/true);
  return {at::tensor(pass1.false_positives, at::dtype(at::kDouble)).view({m}), g};
}

struct CpuKernel {
  template <typename score_t, typename target_t>
  static std::tuple<at::Tensor, at::Tensor> ap_rank(const at::Tensor& scores, const at::Tensor& targets,
                                                    double delta, bool interpolated) {
    const score_t* s = scores.const_data_ptr<score_t>();
    const target_t* t = targets.const_data_ptr<target_t>();
    const Chunks chunks = split(scores.numel());
    const bool avx2 = avx2_kernel_enabled();

    const SortedPositives positives = sort_positives_on_host(s, scores.numel(), find_positives(t, chunks, avx2));
    const int64_t m = static_cast<int64_t>(positives.p.size());
    const double* p = positives.p.data();
    if (m == 0) {
      // Every score is still checked.
      const ReachingNegatives negatives(s, t, chunks, delta, std::numeric_limits<double>::infinity(),
                                        [](int64_t, Reaching*, Reaching*) {});
      return {at::zeros({}, scores.options()), at::zeros_like(scores)};
    }
    const double scale = 1.0 / static_cast<double>(m);
    if (std::optional<Avx2Ranking> fast =
            avx2_pass1<score_t, target_t>(avx2, /*check_targets=*/false, scores, targets, p, m, delta)) {
      const PositiveRanking ranking =
          rank_positives(p, m, delta, interpolated, fast->count_false_positives(p, delta));
      at::Tensor grad = fast->weigh_negatives(ranking.prefixes.data(), delta, scale);
      return finish_positives<score_t>(ranking, positives.index, grad);
    }
    const GridTable table = grid_of(p, m);
    NegativeBins<score_t> bins(s, chunks, table.view(), delta);
    const ReachingNegatives negatives(s, t, chunks, delta, lowest_positive(table.view()), bins);
    std::vector<double> slots = bins.sums();
    const PositiveRanking ranking =
        rank_positives(p, m, delta, interpolated, ranked_sums(p, m, delta, rank_slots_in(slots.data(), m)));
    at::Tensor grad = at::empty_like(scores);
    write_negative_sums(s, negatives, table.view(), ranking.prefixes.data(), delta, scale,
                        grad.mutable_data_ptr<score_t>(), /*searched=*/true);
    return finish_positives<score_t>(ranking, positives.index, grad);
  }

  template <typename score_t, typename target_t>
  static at::Tensor count_false_positives(const at::Tensor& scores, const at::Tensor& targets,
                                          const at::Tensor& sorted_positives, double delta) {
    const int64_t m = sorted_positives.numel();
    const double* p = sorted_positives.const_data_ptr<double>();
    check_positive_values("false_positive_sums", p, nullptr, m);
    if (std::optional<Avx2Ranking> fast = avx2_pass1<score_t, target_t>(
            avx2_kernel_enabled(), /*check_targets=*/true, scores, targets, p, m, delta)) {
      return at::tensor(fast->count_false_positives(p, delta), at::dtype(at::kDouble)).view({m});
    }
    const GridTable table = grid_of(p, m);
    const PortablePass1 pass1 = portable_pass1<score_t, target_t>(scores, targets, table, delta);
    return at::tensor(pass1.false_positives, at::dtype(at::kDouble)).view({m});
  }

  template <typename score_t, typename target_t>
  static at::Tensor weigh_negatives(const at::Tensor& scores, const at::Tensor& targets,
                                    const at::Tensor& sorted_positives, const at::Tensor& weights,
                                    double delta) {
    const int64_t m = sorted_positives.numel();
    const double* p = sorted_positives.const_data_ptr<double>();
    const double* w = weights.const_data_ptr<double>();
    check_positive_values("negative_weight_sums", p, w, m);
    const std::vector<double> prefixes = weight_prefixes(p, w, m);
    if (std::optional<Avx2Ranking> fast = avx2_pass1<score_t, target_t>(
            avx2_kernel_enabled(), /*check_targets=*/true, scores, targets, p, m, delta)) {
      return fast->weigh_negatives(prefixes.data(), delta, 1.0);
    }
    const GridTable table = grid_of(p, m);
    const score_t* s = scores.const_data_ptr<score_t>();
    const ReachingNegatives negatives(s, targets.const_data_ptr<target_t>(), split(scores.numel()), delta,
                                      lowest_positive(table.view()), [](int64_t, Reaching*, Reaching*) {});
    at::Tensor sums = at::empty_like(scores);
    write_negative_sums(s, negatives, table.view(), prefixes.data(), delta, 1.0,
                        sums.mutable_data_ptr<score_t>(), /*searched=*/false);
    return sums;
  }

  template <typename score_t, typename target_t>
  static std::tuple<at::Tensor, at::Tensor> rank_sort_negatives(const at::Tensor& scores, const at::Tensor& targets,
                                                                const at::Tensor& sorted_positives,
                                                                const at::Tensor& rank_pos, double scale,
                                                                double delta) {
    const int64_t m = sorted_positives.numel();
    const double* p = sorted_positives.const_data_ptr<double>();
    const double* rp = rank_pos.const_data_ptr<double>();
    check_positive_values("rank_sort_negatives", p, rp, m);
    return rank_sort_negatives_cpu<score_t, target_t>(scores, targets, p, rp, m, scale, delta,
                                                      /*check_targets=*/true);
  }

  // Pass 0 as in ap_rank, over floating targets; the sorting part (rank_sort_positives); then the
  // negatives' passes as in rank_sort_negatives.
  template <typename score_t, typename target_t>
  static RankSortResult rank_sort(const at::Tensor& scores, const at::Tensor& targets, double delta) {
    const score_t* s = scores.const_data_ptr<score_t>();
    const target_t* t = targets.const_data_ptr<target_t>();
    const Chunks chunks = split(scores.numel());
    const SortedPositives positives =
        sort_positives_on_host(s, scores.numel(), find_positives(t, chunks, avx2_kernel_enabled()));
    const int64_t m = static_cast<int64_t>(positives.p.size());
    if (m == 0) {
      // Every score is still checked.
      const ReachingNegatives negatives(s, t, chunks, delta, std::numeric_limits<double>::infinity(),
                                        [](int64_t, Reaching*, Reaching*) {});
      return rank_sort_without_positives(scores);
    }
    const at::TensorOptions float64 = at::dtype(at::kDouble);
    at::Tensor p = at::empty({m}, float64), y = at::empty({m}, float64), index = at::empty({m}, at::kLong);
    std::copy(positives.p.begin(), positives.p.end(), p.mutable_data_ptr<double>());
    std::copy(positives.index.begin(), positives.index.end(), index.mutable_data_ptr<int64_t>());
    double* values = y.mutable_data_ptr<double>();
    for (int64_t i = 0; i < m; ++i) {
      values[i] = static_cast<double>(t[positives.index[i]]);
    }
    const SortingOutputs sorting = checked_sorting_outputs(p, y, delta);
    sort_positives_cpu(p, y, delta, sorting);
    auto [fp, grad] = rank_sort_negatives_cpu<score_t, target_t>(
        scores, targets, positives.p.data(), sorting.rank_pos.const_data_ptr<double>(), m,
        1.0 / static_cast<double>(m), delta, /*check_targets=*/false);
    return finish_rank_sort(fp, sorting, index, std::move(grad));
  }
};

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_losses, CPU, m) {
  m.impl("ap_rank", &dispatch_ap_rank<CpuKernel>);
  m.impl("false_positive_sums", &dispatch_false_positive_sums<CpuKernel>);
  m.impl("negative_weight_sums", &dispatch_negative_weight_sums<CpuKernel>);
  m.impl("rank_sort_negatives", &dispatch_rank_sort_negatives<CpuKernel>);
  m.impl("rank_sort", &dispatch_rank_sort<CpuKernel>);
}

}  // namespace mmdet_losses
