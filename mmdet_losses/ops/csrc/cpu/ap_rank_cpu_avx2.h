// The AVX2 CPU kernel of the ranking ops for fp32 scores and int8, int32 or int64 targets (the
// heads pass int8) or Rank & Sort's floating targets, chosen at run time; every other case, and
// every CPU without AVX2 and FMA, takes the portable kernel of ap_rank_cpu.cpp.
#pragma once

#include "../ap_rank.h"

#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <vector>

namespace mmdet_losses {

// Whether this CPU runs AVX2 and FMA and the environment variable MMDET_LOSSES_CPU_SIMD is not
// "0" (which forces the portable kernel, e.g. to compare the two).
bool avx2_kernel_enabled();

// The first j in [from, end) whose target is neither 0 nor -1 (a positive or an invalid value),
// or end, 64 targets per step.
int64_t next_positive_or_invalid_avx2(const int8_t* t, int64_t from, int64_t end);
int64_t next_positive_or_invalid_avx2(const float* t, int64_t from, int64_t end);

// The AVX2 kernel's two passes, for fp32 scores and int8, int32, int64 or floating targets
// (contiguous, already checked) against m >= 1 positive scores sorted ascending (float64): pass1
// runs the first pass, or gives nullopt for other target dtypes and when the positives' window edges (p +- delta)
// do not all fit in fp32 (the portable kernel then handles them). Then count_false_positives gives
// fp[i] = sum over the negatives j of H(s_j - p[i]), and weigh_negatives (once) the tensor of
// scale * sum_i w_i H(s_j - p[i]) at every negative and 0 elsewhere, from weight_prefixes of w.
class Avx2Ranking {
 public:
  static std::optional<Avx2Ranking> pass1(const at::Tensor& scores, const at::Tensor& targets, const double* p,
                                          int64_t m, double delta);
  Avx2Ranking(Avx2Ranking&&) noexcept;
  ~Avx2Ranking();

  std::vector<double> count_false_positives(const double* p, double delta) const;
  at::Tensor weigh_negatives(const double* prefixes, double delta, double scale);

 private:
  struct State;
  explicit Avx2Ranking(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace mmdet_losses
