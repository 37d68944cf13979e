// CUDA kernel of mmdet_losses::ap_rank: the passes over all N entries run on the GPU; the
// O(|P| log |P|) per-positive step runs on the host (rank_positives, shared with the CPU kernel).
//   pass 0  find_positives:  targets only; checks them, gathers the positives' indices
//   pass 1  bin_negatives:   checks every score, bins each negative into the difference arrays
//   pass 2  write_gradients: writes every entry's gradient once
// Passes 1 and 2 keep the sorted positives and their slots in shared memory when they fit.
#include "../ap_rank.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cooperative_groups.h>
#include <torch/library.h>

#include <algorithm>

namespace mmdet_losses {
namespace {

namespace cg = cooperative_groups;

constexpr int kThreads = 256;
constexpr unsigned long long kNotFound = ~0ull;
// state[]: the number of positives, the first invalid target's index, the first non-finite
// score's index.
enum State { kPositives = 0, kBadTarget = 1, kNonFinite = 2, kStateSize = 3 };

template <typename target_t>
__global__ void find_positives(const target_t* __restrict__ t, int64_t n, int64_t* __restrict__ index,
                               unsigned long long* __restrict__ state) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < n; j += stride) {
    const int64_t v = static_cast<int64_t>(t[j]);
    if (v == 1) {
      // One atomic per warp for all its positives.
      const cg::coalesced_group group = cg::coalesced_threads();
      unsigned long long base = 0;
      if (group.thread_rank() == 0) {
        base = atomicAdd(&state[kPositives], static_cast<unsigned long long>(group.size()));
      }
      base = group.shfl(base, 0);
      index[base + group.thread_rank()] = j;
    } else if (v != 0 && v != -1) {
      atomicMin(&state[kBadTarget], static_cast<unsigned long long>(j));
    }
  }
}

// A thread's run of scores landing in the same slot, added to the slots in one go: when scores
// cluster (early in training most negatives share one window) this removes almost all atomics.
struct PendingSlot {
  int64_t slot = -1;
  double count = 0.0;
  double total = 0.0;
};

__device__ inline void flush_lo(const PendingSlot& run, const RankSlots& slots) {
  if (run.slot >= 0) {
    atomicAdd(&slots.full[run.slot], run.count);
    atomicAdd(&slots.count[run.slot], run.count);
    atomicAdd(&slots.total[run.slot], run.total);
  }
}

__device__ inline void flush_hi(const PendingSlot& run, const RankSlots& slots) {
  if (run.slot >= 0) {
    atomicAdd(&slots.count[run.slot], -run.count);
    atomicAdd(&slots.total[run.slot], -run.total);
  }
}

// Shared layout when kShared: p[m], then 3 x (m + 1) slots (full, count, total).
template <typename score_t, typename target_t, bool kShared>
__global__ void bin_negatives(const score_t* __restrict__ s, const target_t* __restrict__ t, int64_t n,
                              const double* __restrict__ p, int64_t m, double delta,
                              double* __restrict__ slots, unsigned long long* __restrict__ state) {
  extern __shared__ double shared[];
  const double* sorted = p;
  double* block_slots = slots;
  if constexpr (kShared) {
    for (int64_t k = threadIdx.x; k < m; k += blockDim.x) {
      shared[k] = p[k];
    }
    for (int64_t k = threadIdx.x; k < 3 * (m + 1); k += blockDim.x) {
      shared[m + k] = 0.0;
    }
    __syncthreads();
    sorted = shared;
    block_slots = shared + m;
  }
  const RankSlots out{block_slots, block_slots + (m + 1), block_slots + 2 * (m + 1)};
  const double lowest = m > 0 ? sorted[0] : 0.0;
  PendingSlot lo_run;
  PendingSlot hi_run;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < n; j += stride) {
    const double x = static_cast<double>(s[j]);
    if (!isfinite(x)) {
      atomicMin(&state[kNonFinite], static_cast<unsigned long long>(j));
      continue;
    }
    if (m == 0 || t[j] != 0 || x + delta <= lowest) {
      continue;
    }
    const Window w = window_of(SortedScores{sorted, m}, x, delta);
    if (w.lo != lo_run.slot) {
      flush_lo(lo_run, out);
      lo_run = PendingSlot{w.lo, 0.0, 0.0};
    }
    lo_run.count += 1.0;
    lo_run.total += x;
    if (w.hi != hi_run.slot) {
      flush_hi(hi_run, out);
      hi_run = PendingSlot{w.hi, 0.0, 0.0};
    }
    hi_run.count += 1.0;
    hi_run.total += x;
  }
  flush_lo(lo_run, out);
  flush_hi(hi_run, out);
  if constexpr (kShared) {
    __syncthreads();
    for (int64_t k = threadIdx.x; k < 3 * (m + 1); k += blockDim.x) {
      const double value = block_slots[k];
      if (value != 0.0) {
        atomicAdd(&slots[k], value);
      }
    }
  }
}

// Shared layout when kShared: p[m], w_prefix[m + 1], wp_prefix[m + 1].
template <typename score_t, typename target_t, bool kShared>
__global__ void write_gradients(const score_t* __restrict__ s, const target_t* __restrict__ t, int64_t n,
                                const double* __restrict__ p, int64_t m, double delta,
                                const double* __restrict__ prefixes, double inv_m,
                                score_t* __restrict__ grad) {
  extern __shared__ double shared[];
  const double* sorted = p;
  const double* w_prefix = prefixes;
  if constexpr (kShared) {
    for (int64_t k = threadIdx.x; k < m; k += blockDim.x) {
      shared[k] = p[k];
    }
    for (int64_t k = threadIdx.x; k < 2 * (m + 1); k += blockDim.x) {
      shared[m + k] = prefixes[k];
    }
    __syncthreads();
    sorted = shared;
    w_prefix = shared + m;
  }
  const double* wp_prefix = w_prefix + (m + 1);
  const double lowest = sorted[0];
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < n; j += stride) {
    const double x = static_cast<double>(s[j]);
    double gradient = 0.0;
    if (t[j] == 0 && x + delta > lowest) {
      gradient = negative_gradient(w_prefix, wp_prefix, window_of(SortedScores{sorted, m}, x, delta), x, delta, inv_m);
    }
    grad[j] = static_cast<score_t>(gradient);
  }
}

struct Launch {
  int device;
  int sms;
  int max_shared;  // per block, with opt-in
  cudaStream_t stream;

  explicit Launch(const at::Tensor& like) : device(like.get_device()) {
    C10_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    C10_CUDA_CHECK(cudaDeviceGetAttribute(&max_shared, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    stream = c10::cuda::getCurrentCUDAStream(device).stream();
  }

  int blocks(int64_t n, int per_sm) const {
    const int64_t needed = (n + kThreads - 1) / kThreads;
    return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(needed, static_cast<int64_t>(sms) * per_sm)));
  }

  // Whether `bytes` of dynamic shared memory can be had for kernel; raises the kernel's limit
  // above the default 48 KiB when needed.
  template <typename Kernel>
  bool shared_fits(Kernel kernel, size_t bytes) const {
    if (bytes > static_cast<size_t>(max_shared)) {
      return false;
    }
    C10_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(bytes)));
    return true;
  }
};

template <typename score_t, typename target_t>
std::tuple<at::Tensor, at::Tensor> ap_rank_typed(const at::Tensor& scores, const at::Tensor& targets,
                                                 double delta, bool interpolated) {
  const int64_t n = scores.numel();
  const Launch launch(scores);
  const score_t* s = scores.const_data_ptr<score_t>();
  const target_t* t = targets.const_data_ptr<target_t>();
  const auto long_options = targets.options().dtype(at::kLong);
  const auto double_options = scores.options().dtype(at::kDouble);

  at::Tensor state = at::empty({kStateSize}, long_options);
  state.fill_(0);
  state.narrow(0, kBadTarget, 2).fill_(-1);  // kNotFound as a bit pattern
  auto* state_ptr = reinterpret_cast<unsigned long long*>(state.data_ptr<int64_t>());
  at::Tensor index = at::empty({std::max<int64_t>(n, 1)}, long_options);
  find_positives<target_t><<<launch.blocks(n, 8), kThreads, 0, launch.stream>>>(
      t, n, index.data_ptr<int64_t>(), state_ptr);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const at::Tensor found = state.cpu();
  const auto* found_ptr = reinterpret_cast<const unsigned long long*>(found.const_data_ptr<int64_t>());
  if (found_ptr[kBadTarget] != kNotFound) {
    const int64_t at_index = static_cast<int64_t>(found_ptr[kBadTarget]);
    raise_bad_target(at_index, targets.view(-1)[at_index].item<int64_t>());
  }
  const int64_t m = static_cast<int64_t>(found_ptr[kPositives]);
  const at::Tensor positive_index = std::get<0>(index.narrow(0, 0, m).sort());
  const auto [sorted_scores, sorted_index] = sort_positives(scores.view(-1), positive_index);
  const double* p = sorted_scores.const_data_ptr<double>();

  at::Tensor slots = at::zeros({3 * (m + 1)}, double_options);
  const size_t bin_bytes = static_cast<size_t>(m + 3 * (m + 1)) * sizeof(double);
  if (launch.shared_fits(bin_negatives<score_t, target_t, true>, bin_bytes)) {
    bin_negatives<score_t, target_t, true><<<launch.blocks(n, 2), kThreads, bin_bytes, launch.stream>>>(
        s, t, n, p, m, delta, slots.data_ptr<double>(), state_ptr);
  } else {
    bin_negatives<score_t, target_t, false><<<launch.blocks(n, 8), kThreads, 0, launch.stream>>>(
        s, t, n, p, m, delta, slots.data_ptr<double>(), state_ptr);
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const at::Tensor checked = state.cpu();
  const auto* checked_ptr = reinterpret_cast<const unsigned long long*>(checked.const_data_ptr<int64_t>());
  if (checked_ptr[kNonFinite] != kNotFound) {
    const int64_t at_index = static_cast<int64_t>(checked_ptr[kNonFinite]);
    raise_nonfinite_score(at_index, scores.view(-1)[at_index].item<double>());
  }
  if (m == 0) {
    return {at::zeros({}, scores.options()), at::zeros_like(scores)};
  }

  const at::Tensor host_p = sorted_scores.cpu();
  at::Tensor host_slots = slots.cpu();
  double* hs = host_slots.data_ptr<double>();
  const PositiveRanking ranking = rank_positives(host_p.const_data_ptr<double>(), m, delta, interpolated,
                                                 RankSlots{hs, hs + (m + 1), hs + 2 * (m + 1)});
  at::Tensor host_prefixes = at::empty({2 * (m + 1)}, at::dtype(at::kDouble));
  std::copy(ranking.w_prefix.begin(), ranking.w_prefix.end(), host_prefixes.data_ptr<double>());
  std::copy(ranking.wp_prefix.begin(), ranking.wp_prefix.end(), host_prefixes.data_ptr<double>() + (m + 1));
  const at::Tensor prefixes = host_prefixes.to(double_options);

  at::Tensor grad = at::empty_like(scores);
  const double inv_m = 1.0 / static_cast<double>(m);
  const size_t grad_bytes = static_cast<size_t>(m + 2 * (m + 1)) * sizeof(double);
  if (launch.shared_fits(write_gradients<score_t, target_t, true>, grad_bytes)) {
    write_gradients<score_t, target_t, true><<<launch.blocks(n, 4), kThreads, grad_bytes, launch.stream>>>(
        s, t, n, p, m, delta, prefixes.const_data_ptr<double>(), inv_m, grad.mutable_data_ptr<score_t>());
  } else {
    write_gradients<score_t, target_t, false><<<launch.blocks(n, 8), kThreads, 0, launch.stream>>>(
        s, t, n, p, m, delta, prefixes.const_data_ptr<double>(), inv_m, grad.mutable_data_ptr<score_t>());
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const at::Tensor loss = finish_positives(ranking, sorted_index, grad);
  return {loss, grad};
}

std::tuple<at::Tensor, at::Tensor> ap_rank_cuda(const at::Tensor& scores, const at::Tensor& targets,
                                                double delta, bool interpolated) {
  check_ap_rank_args(scores, targets, delta);
  const c10::cuda::CUDAGuard guard(scores.device());
  const at::Tensor contiguous_scores = scores.contiguous();
  const at::Tensor contiguous_targets = targets.contiguous();
  std::tuple<at::Tensor, at::Tensor> out;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, scores.scalar_type(), "ap_rank_cuda", [&] {
    using score_t = scalar_t;
    AT_DISPATCH_INTEGRAL_TYPES(targets.scalar_type(), "ap_rank_cuda", [&] {
      out = ap_rank_typed<score_t, scalar_t>(contiguous_scores, contiguous_targets, delta, interpolated);
    });
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_losses, CUDA, m) {
  m.impl("ap_rank", &ap_rank_cuda);
}

}  // namespace mmdet_losses
