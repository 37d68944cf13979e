// The positives' part of the Rank & Sort loss (mmdet_losses::rank_sort_positives), shared by the
// CPU and the CUDA kernel. With m positives of scores p and sorting targets y (float64, any order),
// s = p / (2 delta), h_ik = clamp(s_k - (s_i - 1/2), 0, 1) = H(p_k - p_i) and misfit_k = 1 - y_k:
//   rank_pos_i = sum_k h_ik
//   T_i = sum_{y_k >= y_i} h_ik,  D_i = sum_{y_k < y_i} h_ik
//   q_i = sum_k h_ik misfit_k / rank_pos_i - sum_{y_k >= y_i} h_ik misfit_k / T_i
//   c_i = q_i / D_i if D_i > eps, else 0
//   update_k = sum_{i: y_i > y_k} c_i h_ik - [D_k > eps] q_k
// Row i (rank_pos_i, q_i, c_i) and column k (update_k) are each one O(m) loop over all positives,
// in m-sized arrays that stay in cache: O(m^2) time, O(m) memory. Each loop keeps kLanes partial
// sums (entry k goes to lane k mod kLanes) added in a fixed order, so every build and thread count
// gives the same bits.
#pragma once

#include "ap_rank.h"

#include <tuple>
#include <vector>

namespace mmdet_losses {

constexpr double kRankSortEps = 1e-10;
constexpr int kRankSortLanes = 4;

// a * b rounded on its own: nvcc would otherwise fuse it with the addition that follows into one
// FMA, and the CUDA kernel would give other bits than the CPU one.
AP_RANK_HOST_DEVICE inline double product(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

AP_RANK_HOST_DEVICE inline double rank_sort_step(double scaled_k, double shifted_i) {
  const double x = scaled_k - shifted_i;
  return x > 0.0 ? (x < 1.0 ? x : 1.0) : 0.0;
}

// What the rows and columns read of positive k: scaled[k] = p_k / (2 delta), misfit[k] = 1 - y_k.
AP_RANK_HOST_DEVICE inline void prepare_positive(const double* p, const double* y, double delta, int64_t k,
                                                 double* scaled, double* misfit) {
  scaled[k] = p[k] / (2.0 * delta);
  misfit[k] = 1.0 - y[k];
}

struct SortingRow {
  double rank_pos;
  double error;        // q_i
  double coefficient;  // c_i
  double self_update;  // -[D_i > eps] q_i
};

// Row i's sums, lane l holding the entries k = l mod kRankSortLanes.
struct RowLanes {
  double rank_pos[kRankSortLanes] = {};
  double current[kRankSortLanes] = {};
  double above[kRankSortLanes] = {};
  double above_misfit[kRankSortLanes] = {};
  double below[kRankSortLanes] = {};
};

AP_RANK_HOST_DEVICE inline double lane_total(const double* lanes) {
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

// Adds the entries [begin, m) of row i (begin a multiple of kRankSortLanes) to their lanes;
// scaled[k] = p_k / (2 delta), misfit[k] = 1 - y_k, shifted = scaled[i] - 1/2, yi = y[i].
AP_RANK_HOST_DEVICE inline void add_row(RowLanes& lanes, const double* scaled, const double* y,
                                        const double* misfit, int64_t m, double shifted, double yi,
                                        int64_t begin) {
  for (int64_t k = begin; k < m; k += kRankSortLanes) {
    for (int l = 0; l < kRankSortLanes && k + l < m; ++l) {
      const double h = rank_sort_step(scaled[k + l], shifted);
      const bool up = y[k + l] >= yi;
      const double h_up = up ? h : 0.0;
      lanes.rank_pos[l] += h;
      lanes.current[l] += product(h, misfit[k + l]);
      lanes.above[l] += h_up;
      lanes.above_misfit[l] += product(h_up, misfit[k + l]);
      lanes.below[l] += up ? 0.0 : h;
    }
  }
}

AP_RANK_HOST_DEVICE inline SortingRow finish_row(const RowLanes& lanes) {
  SortingRow row;
  row.rank_pos = lane_total(lanes.rank_pos);
  row.error = lane_total(lanes.current) / row.rank_pos - lane_total(lanes.above_misfit) / lane_total(lanes.above);
  const double d = lane_total(lanes.below);
  const bool moved = d > kRankSortEps;
  row.coefficient = moved ? row.error / d : 0.0;
  row.self_update = moved ? -row.error : 0.0;
  return row;
}

AP_RANK_HOST_DEVICE inline SortingRow sorting_row(const double* scaled, const double* y,
                                                  const double* misfit, int64_t m, int64_t i) {
  RowLanes lanes;
  add_row(lanes, scaled, y, misfit, m, scaled[i] - 0.5, y[i], 0);
  return finish_row(lanes);
}

// Adds the entries [begin, m) of column k (begin a multiple of kRankSortLanes) to their lanes:
// c_i h_ik for the positives i with y_i > y_k; sk = scaled[k], yk = y[k].
AP_RANK_HOST_DEVICE inline void add_column(double* lanes, const double* scaled, const double* y,
                                           const double* coefficient, int64_t m, double sk, double yk,
                                           int64_t begin) {
  for (int64_t i = begin; i < m; i += kRankSortLanes) {
    for (int l = 0; l < kRankSortLanes && i + l < m; ++l) {
      const double h = rank_sort_step(sk, scaled[i + l] - 0.5);
      lanes[l] += yk < y[i + l] ? product(coefficient[i + l], h) : 0.0;
    }
  }
}

AP_RANK_HOST_DEVICE inline double sorting_column(const double* scaled, const double* y,
                                                 const double* coefficient, int64_t m, int64_t k) {
  double lanes[kRankSortLanes] = {};
  add_column(lanes, scaled, y, coefficient, m, scaled[k], y[k], 0);
  return lane_total(lanes);
}

// The op's three (m,) float64 outputs, allocated once its arguments are checked.
struct SortingOutputs {
  at::Tensor rank_pos;
  at::Tensor error;
  at::Tensor update;
  std::tuple<at::Tensor, at::Tensor, at::Tensor> tuple() const { return {rank_pos, error, update}; }
};

SortingOutputs checked_sorting_outputs(const at::Tensor& scores, const at::Tensor& values, double delta);

// The backends' sorting part: fills out (m,) float64 each for m >= 1 contiguous positives' scores
// p and sorting targets y, on the device of p.
void sort_positives_cpu(const at::Tensor& p, const at::Tensor& y, double delta, const SortingOutputs& out);
void sort_positives_cuda(const at::Tensor& p, const at::Tensor& y, double delta, const SortingOutputs& out);

template <auto kSortPositives>
std::tuple<at::Tensor, at::Tensor, at::Tensor> dispatch_rank_sort_positives(const at::Tensor& scores,
                                                                            const at::Tensor& values,
                                                                            double delta) {
  const SortingOutputs out = checked_sorting_outputs(scores, values, delta);
  if (scores.numel() > 0) {
    kSortPositives(scores.contiguous(), values.contiguous(), delta, out);
  }
  return out.tuple();
}

// mmdet_losses::rank_sort_negatives: the ranking part of Rank & Sort over the negatives, as the
// public passes compute it (false_positive_sums, then negative_weight_sums with the weights below)
// but searching and binning the negatives once. Pass 2's weight of positive i, from its fp sum:
//   w_i = [fp_i > eps] / (rank_pos_i + fp_i) * scale
inline double rank_sort_weight(double false_positives, double rank_pos, double scale) {
  return (false_positives > kRankSortEps ? 1.0 : 0.0) / (rank_pos + false_positives) * scale;
}

std::vector<double> rank_sort_weights(const std::vector<double>& false_positives, const double* rank_pos,
                                      double scale);

void check_rank_sort_negatives_args(const at::Tensor& scores, const at::Tensor& targets,
                                    const at::Tensor& sorted_positives, const at::Tensor& rank_pos,
                                    double scale, double delta);

// Kernel provides rank_sort_negatives<score_t, target_t>(scores, targets, sorted_positives,
// rank_pos, scale, delta) -> (fp, g) for contiguous inputs.
template <typename Kernel>
std::tuple<at::Tensor, at::Tensor> dispatch_rank_sort_negatives(const at::Tensor& scores,
                                                                const at::Tensor& targets,
                                                                const at::Tensor& sorted_positives,
                                                                const at::Tensor& rank_pos, double scale,
                                                                double delta) {
  check_rank_sort_negatives_args(scores, targets, sorted_positives, rank_pos, scale, delta);
  const at::Tensor contiguous_scores = scores.contiguous();
  const at::Tensor contiguous_targets = targets.contiguous();
  std::tuple<at::Tensor, at::Tensor> out;
  dispatch_types(scores, targets, [&]<typename score_t, typename target_t>() {
    out = Kernel::template rank_sort_negatives<score_t, target_t>(
        contiguous_scores, contiguous_targets, sorted_positives.contiguous(), rank_pos.contiguous(), scale,
        delta);
  });
  return out;
}

// The fused op through a backend's two public passes (pass 1 runs twice): for a backend without
// a fused kernel. The weights are the tensor form of rank_sort_weight, the same arithmetic.
template <typename Kernel, typename score_t, typename target_t>
std::tuple<at::Tensor, at::Tensor> rank_sort_negatives_in_two_passes(const at::Tensor& scores,
                                                                     const at::Tensor& targets,
                                                                     const at::Tensor& sorted_positives,
                                                                     const at::Tensor& rank_pos, double scale,
                                                                     double delta) {
  at::Tensor fp = Kernel::template count_false_positives<score_t, target_t>(scores, targets, sorted_positives,
                                                                            delta);
  const at::Tensor weights = fp.gt(kRankSortEps).to(at::kDouble).div(rank_pos.add(fp)).mul(scale);
  return {fp, Kernel::template weigh_negatives<score_t, target_t>(scores, targets, sorted_positives, weights,
                                                                  delta)};
}

// mmdet_losses::rank_sort: the whole Rank & Sort loss of one ranking with floating targets
// (valid_target). Outputs: the ranking and the sorting loss (0-dim, scores' dtype); grad, the
// gradient of their sum (scores' shape and dtype, each entry's ranking and sorting update added in
// float64 and rounded once); and, for another weighting of the two losses, the positives' flat
// indices (m,) int64 and their ranking and sorting updates (2, m) float64. Backward then costs no
// pass over the N entries when both incoming gradients are 1 (loss.backward() of their sum, the
// usual case), and one pass plus O(m) otherwise, exactly: the two updates differ only at the
// positives. Two full-sized gradients instead (one per loss) would cost a pass in every backward.
struct RankSortResult {
  at::Tensor ranking_loss;
  at::Tensor sorting_loss;
  at::Tensor grad;
  at::Tensor positive_index;
  at::Tensor positive_updates;
  std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> tuple() const {
    return {ranking_loss, sorting_loss, grad, positive_index, positive_updates};
  }
};

// The outputs without positives: zero losses and gradient.
RankSortResult rank_sort_without_positives(const at::Tensor& scores);

// The outputs from the m >= 1 positives' parts, on any device: fp (false_positive_sums), sorting
// (rank_sort_positives) and their flat indices, all in the order of their sorted scores, and grad
// holding the negatives' updates (rank_sort_negatives with scale 1 / m), where the positives'
// updates are written.
RankSortResult finish_rank_sort(const at::Tensor& fp, const SortingOutputs& sorting, const at::Tensor& sorted_index,
                                at::Tensor grad);

void check_rank_sort_args(const at::Tensor& scores, const at::Tensor& targets, double delta);

// Kernel provides rank_sort<score_t, target_t>(scores, targets, delta) -> RankSortResult for
// contiguous inputs.
template <typename Kernel>
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> dispatch_rank_sort(const at::Tensor& scores,
                                                                                           const at::Tensor& targets,
                                                                                           double delta) {
  check_rank_sort_args(scores, targets, delta);
  const at::Tensor contiguous_scores = scores.contiguous();
  const at::Tensor contiguous_targets = targets.contiguous();
  RankSortResult out;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, scores.scalar_type(), "rank_sort", [&] {
    using score_t = scalar_t;
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, targets.scalar_type(), "rank_sort", [&] {
      out = Kernel::template rank_sort<score_t, scalar_t>(contiguous_scores, contiguous_targets, delta);
    });
  });
  return out.tuple();
}

}  // namespace mmdet_losses
