// CUDA kernel of mmdet_losses::rank_sort_positives (the arithmetic is in ../rank_sort.h): one
// thread per row, then one thread per column, each an O(m) loop over the positives in the same
// order as the CPU kernel, so both give the same bits.
#include "../rank_sort.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <tuple>

namespace mmdet_losses {
namespace {

constexpr int kSortingThreads = 128;

__global__ void prepare_positives(const double* p, const double* y, int64_t m, double delta,
                                  double* scaled, double* misfit) {
  const int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k < m) {
    prepare_positive(p, y, delta, k, scaled, misfit);
  }
}

__global__ void sorting_rows(const double* scaled, const double* y, const double* misfit, int64_t m,
                             double* rank_pos, double* error, double* coefficient, double* self_update) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < m) {
    const SortingRow row = sorting_row(scaled, y, misfit, m, i);
    rank_pos[i] = row.rank_pos;
    error[i] = row.error;
    coefficient[i] = row.coefficient;
    self_update[i] = row.self_update;
  }
}

__global__ void sorting_columns(const double* scaled, const double* y, const double* coefficient,
                                const double* self_update, int64_t m, double* update) {
  const int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k < m) {
    update[k] = sorting_column(scaled, y, coefficient, m, k) + self_update[k];
  }
}

}  // namespace

void sort_positives_cuda(const at::Tensor& p, const at::Tensor& y, double delta, const SortingOutputs& out) {
  const int64_t m = p.numel();
  const c10::cuda::CUDAGuard guard(p.device());
  // scaled, misfit, coefficient, self_update.
  at::Tensor work = at::empty({4, m}, p.options());
  double* scaled = work[0].data_ptr<double>();
  double* misfit = work[1].data_ptr<double>();
  double* coefficient = work[2].data_ptr<double>();
  double* self_update = work[3].data_ptr<double>();
  const auto stream = c10::cuda::getCurrentCUDAStream();
  const unsigned blocks = static_cast<unsigned>((m + kSortingThreads - 1) / kSortingThreads);
  prepare_positives<<<blocks, kSortingThreads, 0, stream>>>(p.const_data_ptr<double>(), y.const_data_ptr<double>(),
                                                           m, delta, scaled, misfit);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  sorting_rows<<<blocks, kSortingThreads, 0, stream>>>(scaled, y.const_data_ptr<double>(), misfit, m,
                                                      out.rank_pos.data_ptr<double>(), out.error.data_ptr<double>(),
                                                      coefficient, self_update);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  sorting_columns<<<blocks, kSortingThreads, 0, stream>>>(scaled, y.const_data_ptr<double>(), coefficient,
                                                         self_update, m, out.update.data_ptr<double>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

TORCH_LIBRARY_IMPL(mmdet_losses, CUDA, m) {
  m.impl("rank_sort_positives", &dispatch_rank_sort_positives<sort_positives_cuda>);
}

}  // namespace mmdet_losses
