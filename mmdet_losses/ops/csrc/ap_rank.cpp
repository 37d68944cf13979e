// The ops' schemas, their argument checks and the per-positive step shared by the CPU and CUDA
// kernels (cpu/ap_rank_cpu.cpp, cuda/ap_rank_cuda.cu register the kernels themselves).
#include "ap_rank.h"
#include "rank_sort.h"
#include "cpu/ap_rank_cpu_avx2.h"

#include <Python.h>
#include <torch/library.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace mmdet_losses {

std::vector<double> ranked_sums(const double* p, int64_t m, double delta, const RankSlots& slots) {
  // full[i] is the sum of the slots above i (a score adds 1 to every positive below its lo); the
  // window slots are prefix sums.
  double full_above = 0.0;
  for (int64_t i = m; i >= 0; --i) {
    const double slot = slots.full[i];
    slots.full[i] = full_above;
    full_above += slot;
  }
  std::vector<double> sums(m);
  double count = 0.0, total = 0.0;
  for (int64_t i = 0; i < m; ++i) {
    count += slots.count[i];
    total += slots.total[i];
    sums[i] = ranked_sum(slots.full[i], count, total, p[i], delta);
  }
  return sums;
}

PositiveRanking rank_positives(const double* p, int64_t m, double delta, bool interpolated,
                               const std::vector<double>& false_positives) {
  std::vector<double> self_slots(rank_slots_size(m), 0.0);
  const RankSlots self = rank_slots_in(self_slots.data(), m);
  const SortedScores sorted{p, m};
  for (int64_t k = 0; k < m; ++k) {
    add_scores(self, window_of(sorted, p[k], delta), 1.0, p[k]);
  }
  const std::vector<double> positives_above = ranked_sums(p, m, delta, self);
  PositiveRanking out{std::vector<double>(m), {}, 0.0};
  std::vector<double> w(m);
  double running_max = -1.0;
  double sum_iprec = 0.0;
  for (int64_t i = 0; i < m; ++i) {
    // Ranked against itself a positive adds H(0) = 1/2; rank_pos counts it as 1.
    const double rank_pos = 0.5 + positives_above[i];
    const double rank = rank_pos + false_positives[i];
    const double prec = rank_pos / rank;
    double iprec = prec;
    double c = 1.0;
    if (interpolated) {
      if (prec >= running_max) {
        running_max = prec;
      } else {
        iprec = running_max;
        c = (1.0 - iprec) / (1.0 - prec);
      }
    }
    out.gradients[i] = -(1.0 - iprec) / static_cast<double>(m);
    sum_iprec += iprec;
    w[i] = c / rank;
  }
  out.prefixes = weight_prefixes(p, w.data(), m);
  out.loss = 1.0 - sum_iprec / static_cast<double>(m);
  return out;
}

std::vector<double> weight_prefixes(const double* p, const double* w, int64_t m) {
  std::vector<double> prefixes(2 * (m + 1), 0.0);
  double* w_prefix = prefixes.data();
  double* wp_prefix = w_prefix + (m + 1);
  for (int64_t i = 0; i < m; ++i) {
    w_prefix[i + 1] = w_prefix[i] + w[i];
    wp_prefix[i + 1] = wp_prefix[i] + w[i] * p[i];
  }
  return prefixes;
}

GridTable::GridTable(const double* p, int64_t m)
    : m(m), cells(4 * m), cells_per_unit(static_cast<double>(4 * m) / (p[m - 1] - p[0])) {
  TORCH_CHECK_VALUE(m <= std::numeric_limits<int32_t>::max() / 4, "ap_rank: at most ",
                    std::numeric_limits<int32_t>::max() / 4, " positives are supported, got ", m);
  if (!std::isfinite(cells_per_unit)) {
    cells = 0;
    cells_per_unit = 0.0;
  }
  const GridScores cell_function{p, m, nullptr, cells, cells_per_unit, 0};
  cell_start.assign(cells + 2, 0);
  for (int64_t k = 0; k < m; ++k) {
    ++cell_start[cell_function.cell_of(p[k]) + 1];
  }
  int32_t most = 0;
  for (int64_t c = 1; c < cells + 2; ++c) {
    most = std::max(most, cell_start[c]);
    cell_start[c] += cell_start[c - 1];
  }
  window = 1;
  while (window < most) {
    window *= 2;
  }
  padded_p.assign(p, p + m);
  padded_p.resize(m + window, std::numeric_limits<double>::infinity());
}

void check_ap_rank_args(const at::Tensor& scores, const at::Tensor& targets, double delta) {
  TORCH_CHECK_VALUE(scores.sizes() == targets.sizes(),
                    "ap_rank: scores and targets must have the same shape, got scores ",
                    scores.sizes(), " and targets ", targets.sizes());
  TORCH_CHECK_VALUE(at::isFloatingType(scores.scalar_type()),
                    "ap_rank: scores must be a floating-point tensor, got ", scores.scalar_type());
  TORCH_CHECK_VALUE(at::isIntegralType(targets.scalar_type(), /*includeBool=*/false),
                    "ap_rank: targets must be an integer tensor (1 positive, 0 negative, -1 "
                    "ignored), got ", targets.scalar_type());
  TORCH_CHECK_VALUE(scores.device() == targets.device(),
                    "ap_rank: scores and targets must be on the same device, got ",
                    scores.device(), " and ", targets.device());
  TORCH_CHECK_VALUE(delta > 0.0 && std::isfinite(delta),
                    "ap_rank: delta must be a finite number > 0, got ", delta);
}

void check_pass_args(const char* op, const at::Tensor& scores, const at::Tensor& targets,
                     const at::Tensor& sorted_positives, const at::Tensor& weights, double delta) {
  check_ap_rank_args(scores, targets, delta);
  const auto check_vector = [&](const at::Tensor& vector, const char* name) {
    TORCH_CHECK_VALUE(vector.dim() == 1 && vector.scalar_type() == at::kDouble, op, ": ", name,
                      " must be a 1-D float64 tensor, got ", vector.scalar_type(), " of shape ",
                      vector.sizes());
    TORCH_CHECK_VALUE(vector.device() == scores.device(), op, ": ", name,
                      " must be on the scores' device ", scores.device(), ", got ", vector.device());
  };
  check_vector(sorted_positives, "sorted_positives");
  if (weights.defined()) {
    check_vector(weights, "weights");
    TORCH_CHECK_VALUE(weights.numel() == sorted_positives.numel(), op,
                      ": weights must have one value per positive (", sorted_positives.numel(),
                      "), got ", weights.numel());
  }
}

void check_positive_values(const char* op, const double* p, const double* w, int64_t m) {
  for (int64_t i = 0; i < m; ++i) {
    TORCH_CHECK_VALUE(std::isfinite(p[i]), op, ": sorted_positives must be finite, got ", p[i],
                      " at index ", i);
    TORCH_CHECK_VALUE(i == 0 || p[i - 1] <= p[i], op, ": sorted_positives must be sorted ascending, "
                      "got ", p[i - 1], " before ", p[i], " at index ", i);
    TORCH_CHECK_VALUE(w == nullptr || std::isfinite(w[i]), op, ": weights must be finite, got ",
                      w == nullptr ? 0.0 : w[i], " at index ", i);
  }
}

SortingOutputs checked_sorting_outputs(const at::Tensor& scores, const at::Tensor& values, double delta) {
  const auto check_vector = [&](const at::Tensor& vector, const char* name) {
    TORCH_CHECK_VALUE(vector.dim() == 1 && vector.scalar_type() == at::kDouble,
                      "rank_sort_positives: ", name, " must be a 1-D float64 tensor, got ",
                      vector.scalar_type(), " of shape ", vector.sizes());
  };
  check_vector(scores, "scores");
  check_vector(values, "values");
  TORCH_CHECK_VALUE(values.numel() == scores.numel(), "rank_sort_positives: values must have one value "
                    "per score (", scores.numel(), "), got ", values.numel());
  TORCH_CHECK_VALUE(values.device() == scores.device(), "rank_sort_positives: values must be on the "
                    "scores' device ", scores.device(), ", got ", values.device());
  TORCH_CHECK_VALUE(delta > 0.0 && std::isfinite(delta),
                    "rank_sort_positives: delta must be a finite number > 0, got ", delta);
  const int64_t m = scores.numel();
  return {at::empty({m}, scores.options()), at::empty({m}, scores.options()), at::empty({m}, scores.options())};
}

std::vector<double> rank_sort_weights(const std::vector<double>& false_positives, const double* rank_pos,
                                      double scale) {
  std::vector<double> w(false_positives.size());
  for (size_t i = 0; i < w.size(); ++i) {
    w[i] = rank_sort_weight(false_positives[i], rank_pos[i], scale);
  }
  return w;
}

void check_rank_sort_negatives_args(const at::Tensor& scores, const at::Tensor& targets,
                                    const at::Tensor& sorted_positives, const at::Tensor& rank_pos,
                                    double scale, double delta) {
  // rank_pos is checked as the public passes check their weights.
  check_pass_args("rank_sort_negatives", scores, targets, sorted_positives, rank_pos, delta);
  TORCH_CHECK_VALUE(std::isfinite(scale), "rank_sort_negatives: scale must be finite, got ", scale);
}

void check_rank_sort_args(const at::Tensor& scores, const at::Tensor& targets, double delta) {
  TORCH_CHECK_VALUE(scores.sizes() == targets.sizes(),
                    "rank_sort: scores and targets must have the same shape, got scores ", scores.sizes(),
                    " and targets ", targets.sizes());
  TORCH_CHECK_VALUE(at::isFloatingType(scores.scalar_type()),
                    "rank_sort: scores must be a floating-point tensor, got ", scores.scalar_type());
  TORCH_CHECK_VALUE(at::isFloatingType(targets.scalar_type()),
                    "rank_sort: targets must be a floating-point tensor (in (0, 1] a positive and its "
                    "IoU, 0 negative, -1 ignored), got ", targets.scalar_type());
  TORCH_CHECK_VALUE(scores.device() == targets.device(),
                    "rank_sort: scores and targets must be on the same device, got ", scores.device(), " and ",
                    targets.device());
  TORCH_CHECK_VALUE(delta > 0.0 && std::isfinite(delta), "rank_sort: delta must be a finite number > 0, got ",
                    delta);
}

RankSortResult rank_sort_without_positives(const at::Tensor& scores) {
  const at::TensorOptions positives = scores.options().dtype(at::kDouble);
  return {at::zeros({}, scores.options()), at::zeros({}, scores.options()), at::zeros_like(scores),
          at::empty({0}, scores.options().dtype(at::kLong)), at::empty({2, 0}, positives)};
}

RankSortResult finish_rank_sort(const at::Tensor& fp, const SortingOutputs& sorting, const at::Tensor& sorted_index,
                                at::Tensor grad) {
  const double scale = 1.0 / static_cast<double>(fp.numel());
  const at::Tensor ranking_error = fp / (sorting.rank_pos + fp);
  const at::Tensor ranking_update = at::where(fp > kRankSortEps, ranking_error, 0.0).neg_().mul_(scale);
  const at::Tensor sorting_update = sorting.update * scale;
  grad.view(-1).index_copy_(0, sorted_index, (ranking_update + sorting_update).to(grad.scalar_type()));
  return {ranking_error.mean().to(grad.scalar_type()), sorting.error.mean().to(grad.scalar_type()), grad,
          sorted_index, at::stack({ranking_update, sorting_update})};
}

void raise_bad_target(int64_t flat_index, int64_t value) {
  TORCH_CHECK_VALUE(false, "ap_rank: targets must be 1 (positive), 0 (negative) or -1 (ignored), "
                    "got ", value, " at flat index ", flat_index);
}

namespace {

// v as Python's repr(float) writes it (1.5, 2.0, -0.5, 1e-05, nan), so that the op's errors read as
// the Python checks' do: the shortest digits that read back as v, positional for decimal
// exponents in [-4, 16), else scientific with a signed exponent of at least two digits.
std::string python_float_repr(double v) {
  if (std::isnan(v)) {
    return "nan";
  }
  if (std::isinf(v)) {
    return v > 0 ? "inf" : "-inf";
  }
  char buffer[64];
  const char* end = std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::scientific).ptr;
  const std::string text(buffer, static_cast<size_t>(end - buffer));
  const size_t e = text.find('e');
  const bool negative = text[0] == '-';
  std::string digits = text.substr(negative ? 1 : 0, e - (negative ? 1 : 0));
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exponent = std::stoi(text.substr(e + 1));
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) {
      out += "." + digits.substr(1);
    }
    const std::string magnitude = std::to_string(std::abs(exponent));
    return out + "e" + (exponent < 0 ? "-" : "+") + (magnitude.size() < 2 ? "0" : "") + magnitude;
  }
  if (exponent < 0) {
    return out + "0." + std::string(-exponent - 1, '0') + digits;
  }
  const size_t whole = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= whole) {
    return out + digits + std::string(whole - digits.size(), '0') + ".0";
  }
  return out + digits.substr(0, whole) + "." + digits.substr(whole);
}

}  // namespace

void raise_bad_rank_sort_target(int64_t flat_index, double value) {
  TORCH_CHECK_VALUE(false, "rank_sort: targets must be in (0, 1] (a positive and its IoU), 0 (negative) or -1 "
                    "(ignored), got ", python_float_repr(value), " at flat index ", flat_index);
}

void raise_nonfinite_score(int64_t flat_index, double value) {
  TORCH_CHECK_VALUE(false, "ap_rank: scores must be finite, got ", value, " at flat index ",
                    flat_index);
}

TORCH_LIBRARY(mmdet_losses, m) {
  // Returns (loss, grad): the AP-Loss value and its error-driven gradient with respect to scores
  // (Chen et al., CVPR 2019, Algorithm 1); autograd (mmdet_losses/ops/ap_rank.py) returns
  // grad * grad_output.
  m.def("ap_rank(Tensor scores, Tensor targets, float delta, bool interpolated) -> (Tensor, Tensor)");
  // The op's two passes over the negatives, for rankings whose positives come from elsewhere
  // (other processes, other losses). sorted_positives: float64, ascending.
  // Pass 1: fp[i] = sum over the negatives j of H(s_j - p[i]), float64, one per positive.
  m.def("false_positive_sums(Tensor scores, Tensor targets, Tensor sorted_positives, float delta) "
        "-> Tensor");
  // Pass 2: g_j = sum_i weights[i] H(s_j - p[i]) at every negative, 0 elsewhere; scores' dtype.
  m.def("negative_weight_sums(Tensor scores, Tensor targets, Tensor sorted_positives, Tensor weights, "
        "float delta) -> Tensor");
  // The positives' part of the Rank & Sort loss (rank_sort.h): for m positives' scores and sorting
  // targets (float64, any order), (rank_pos, sorting error, sorting update times m), each (m,)
  // float64.
  m.def("rank_sort_positives(Tensor scores, Tensor values, float delta) -> (Tensor, Tensor, Tensor)");
  // Rank & Sort's ranking part over the negatives of one ranking, given its positives' sorted
  // scores and their rank_pos (float64, in that order): (fp, g), fp as false_positive_sums gives
  // it and g as negative_weight_sums gives it with w_i = [fp_i > 1e-10] / (rank_pos_i + fp_i) *
  // scale, the negatives searched and binned once.
  m.def("rank_sort_negatives(Tensor scores, Tensor targets, Tensor sorted_positives, Tensor rank_pos, "
        "float scale, float delta) -> (Tensor, Tensor)");
  // The whole Rank & Sort loss of one ranking (rank_sort.h, RankSortResult): floating targets, y in
  // (0, 1] a positive with sorting target y, 0 negative, -1 ignored. Returns (ranking loss, sorting
  // loss, gradient of their sum, positives' flat indices, positives' (ranking, sorting) updates);
  // autograd: mmdet_losses/ops/registration.py.
  m.def("rank_sort(Tensor scores, Tensor targets, float delta) -> (Tensor, Tensor, Tensor, Tensor, Tensor)");
}

}  // namespace mmdet_losses

namespace {

PyObject* avx2_kernel_enabled(PyObject*, PyObject*) {
  return PyBool_FromLong(mmdet_losses::avx2_kernel_enabled());
}

PyMethodDef module_methods[] = {
    {"avx2_kernel_enabled", avx2_kernel_enabled, METH_NOARGS,
     "Whether the ranking ops on the CPU run their AVX2 kernel (fp32 scores; int8, int32 or int64 "
     "targets, rank_sort's floating ones) now: the CPU has AVX2 and FMA and MMDET_LOSSES_CPU_SIMD is "
     "not 0."},
    {nullptr, nullptr, 0, nullptr}};

}  // namespace

// Importing mmdet_losses._C loads this library, which registers the op and its kernels.
extern "C" PyObject* PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, module_methods};
  PyObject* module = PyModule_Create(&module_def);
#ifdef WITH_CUDA
  const long with_cuda = 1;
#else
  const long with_cuda = 0;
#endif
  if (module != nullptr && PyModule_AddIntConstant(module, "with_cuda", with_cuda) != 0) {
    Py_DECREF(module);
    return nullptr;
  }
  return module;
}
