// The AVX2 CPU kernel of mmdet_losses::ap_rank for fp32 scores and int8, int32 or int64 targets
// (the heads pass int8), chosen at run time; every other case, and every CPU without AVX2 and
// FMA, takes the portable kernel of ap_rank_cpu.cpp.
#pragma once

#include "../ap_rank.h"

#include <ATen/core/Tensor.h>

#include <optional>
#include <utility>

namespace mmdet_losses {

// Whether this CPU runs AVX2 and FMA and the environment variable MMDET_LOSSES_CPU_SIMD is not
// "0" (which forces the portable kernel, e.g. to compare the two).
bool avx2_kernel_enabled();

// The first j in [from, end) whose target is neither 0 nor -1 (a positive or an invalid value),
// or end, 64 targets per step.
int64_t next_positive_or_invalid_avx2(const int8_t* t, int64_t from, int64_t end);

using RankingAndGradient = std::pair<PositiveRanking, at::Tensor>;

// ap_rank for contiguous fp32 scores and int8, int32 or int64 targets, given the m >= 1 positives'
// scores sorted ascending (float64); the targets have been checked. Returns the positives' ranking
// and the gradient, written at every entry but the positives. nullopt for other target dtypes, and
// when the positives' window edges (p +- delta) do not all fit in fp32: the portable kernel then
// handles them.
std::optional<RankingAndGradient> ap_rank_avx2(const at::Tensor& scores, const at::Tensor& targets,
                                               const double* p, int64_t m, double delta, bool interpolated);

}  // namespace mmdet_losses
