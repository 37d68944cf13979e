// CUDA kernels of mmdet_losses::ap_rank and its two public passes: the passes over all N entries
// run on the GPU; the O(|P| log |P|) per-positive step runs on the host (rank_positives, shared
// with the CPU kernel).
//   pass 0  count_positives:     targets only; checks and counts them
//           gather_positives:    targets only; the positives' indices into an m-entry buffer
//   pass 1  bin_negatives:       checks every entry, bins each negative into the difference arrays
//   pass 2  write_negative_sums: writes every entry once (the gradient, in ap_rank)
// Passes 1 and 2 search the positives through the same cell grid as the CPU kernel, and keep the
// positives, the grid and their slots or prefix sums in shared memory when they fit and each block
// has enough entries to repay copying them there.
#include "../ap_rank.h"
#include "../rank_sort.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cooperative_groups.h>
#include <torch/library.h>

#include <cooperative_groups/reduce.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <mutex>
#include <set>
#include <utility>

namespace mmdet_losses {
namespace {

namespace cg = cooperative_groups;

constexpr int kThreads = 256;
constexpr int kMaxSharedThreads = 1024;
constexpr unsigned long long kNotFound = ~0ull;
// state[]: the number of positives, the first invalid target's index, the first non-finite
// score's index, the positives gathered so far.
enum State { kPositives = 0, kBadTarget = 1, kNonFinite = 2, kGathered = 3, kStateSize = 4 };

template <typename target_t>
__global__ void count_positives(int64_t n, const target_t* __restrict__ t, unsigned long long* __restrict__ state) {
  unsigned long long positives = 0;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < n; j += stride) {
    const int64_t v = static_cast<int64_t>(t[j]);
    if (v == 1) {
      ++positives;
    } else if (!valid_target(v)) {
      atomicMin(&state[kBadTarget], static_cast<unsigned long long>(j));
    }
  }
  const cg::thread_block_tile<32> warp = cg::tiled_partition<32>(cg::this_thread_block());
  positives = cg::reduce(warp, positives, cg::plus<unsigned long long>());
  if (warp.thread_rank() == 0 && positives > 0) {
    atomicAdd(&state[kPositives], positives);
  }
}

// Writes the flat index of every positive into index[0, m), in no particular order.
template <typename target_t>
__global__ void gather_positives(int64_t n, const target_t* __restrict__ t, int64_t* __restrict__ index,
                                 unsigned long long* __restrict__ state) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < n; j += stride) {
    if (static_cast<int64_t>(t[j]) == 1) {
      // One atomic per warp for all its positives.
      const cg::coalesced_group group = cg::coalesced_threads();
      unsigned long long base = 0;
      if (group.thread_rank() == 0) {
        base = atomicAdd(&state[kGathered], static_cast<unsigned long long>(group.size()));
      }
      base = group.shfl(base, 0);
      index[base + group.thread_rank()] = j;
    }
  }
}

// Adds a run to the slots. The lanes of a warp flushing runs of the same slot add them up first
// and one of them does the atomics: with clustered scores every thread's runs land in the same few
// slots. The label tells lo runs from hi runs, whichever code path the lanes flush them from.
template <typename count_t>
__device__ inline void flush_run(const SlotRun& run, bool at_lo, const SlotArrays<count_t>& slots) {
  const cg::coalesced_group peers =
      cg::labeled_partition(cg::coalesced_threads(), static_cast<int>(2 * run.slot + (at_lo ? 1 : 0)));
  SlotRun sum = run;
  if (peers.size() > 1) {
    sum.count = cg::reduce(peers, run.count, cg::plus<double>());
    sum.total = cg::reduce(peers, run.total, cg::plus<double>());
  }
  if (peers.thread_rank() == 0) {
    slots.add_run(sum, at_lo, [](auto* at, auto value) { atomicAdd(at, value); });
  }
}

// Shared memory of a block, in 8-byte words: the grid (m + window padded scores, then cells + 2
// int32 cell starts rounded up to whole words; none without positives), then the kernel's own
// arrays.
__host__ __device__ inline int64_t grid_words(const GridScores& grid) {
  return grid.m > 0 ? grid.m + grid.window + (grid.cells + 3) / 2 : 0;
}

// The grid with its arrays copied into `words` (grid_words(grid) of them) by the whole block.
__device__ GridScores grid_in_shared(const GridScores& grid, double* words) {
  const int64_t scores = grid.m > 0 ? grid.m + grid.window : 0;
  const int64_t starts = grid.m > 0 ? grid.cells + 2 : 0;
  auto* cell_start = reinterpret_cast<int32_t*>(words + scores);
  for (int64_t k = threadIdx.x; k < scores; k += blockDim.x) {
    words[k] = grid.p[k];
  }
  for (int64_t k = threadIdx.x; k < starts; k += blockDim.x) {
    cell_start[k] = grid.cell_start[k];
  }
  return {words, grid.m, cell_start, grid.cells, grid.cells_per_unit, grid.window};
}

// Visits the entries j = first, first + stride, ... < n: checks each (reported in state) and adds
// every negative that reaches a positive to the slots.
template <typename score_t, typename target_t, typename count_t>
__device__ inline void bin_entries(int64_t n, int64_t first, int64_t stride, const score_t* __restrict__ s,
                                   const target_t* __restrict__ t, const GridScores& grid, double delta,
                                   const SlotArrays<count_t>& slots, unsigned long long* __restrict__ state) {
  const int64_t m = grid.m;
  const double lowest = m > 0 ? grid.p[0] : 0.0;
  const auto flush = [&slots](const SlotRun& run, bool at_lo) { flush_run(run, at_lo, slots); };
  WindowRuns runs;
  for (int64_t j = first; j < n; j += stride) {
    const double x = static_cast<double>(s[j]);
    const int64_t v = static_cast<int64_t>(t[j]);
    if (!isfinite(x)) {
      atomicMin(&state[kNonFinite], static_cast<unsigned long long>(j));
      continue;
    }
    if (!valid_target(v)) {
      atomicMin(&state[kBadTarget], static_cast<unsigned long long>(j));
      continue;
    }
    if (m == 0 || v != 0 || x + delta <= lowest) {
      continue;
    }
    runs.add(window_of(grid, x, delta), x, flush);
  }
  runs.finish(flush);
}

// Pass 1 into slots (rank_slots_in). Shared layout when kShared: the grid, then the block's m + 1
// totals and 2 (m + 1) int counts (full, count), added to slots at the end.
template <typename score_t, typename target_t, bool kShared>
__global__ void bin_negatives(int64_t n, const score_t* __restrict__ s, const target_t* __restrict__ t,
                              GridScores grid, double delta, double* __restrict__ slots,
                              unsigned long long* __restrict__ state) {
  const int64_t m = grid.m;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const RankSlots out = rank_slots_in(slots, m);
  if constexpr (kShared) {
    extern __shared__ double shared[];
    grid = grid_in_shared(grid, shared);
    double* total = shared + grid_words(grid);
    auto* full = reinterpret_cast<int*>(total + (m + 1));
    int* count = full + (m + 1);
    for (int64_t k = threadIdx.x; k < m + 1; k += blockDim.x) {
      total[k] = 0.0;
      full[k] = 0;
      count[k] = 0;
    }
    __syncthreads();
    bin_entries(n, first, stride, s, t, grid, delta, SlotArrays<int>{full, count, total}, state);
    __syncthreads();
    for (int64_t k = threadIdx.x; k < m + 1; k += blockDim.x) {
      if (full[k] != 0) {
        atomicAdd(&out.full[k], static_cast<double>(full[k]));
      }
      if (count[k] != 0) {
        atomicAdd(&out.count[k], static_cast<double>(count[k]));
      }
      if (total[k] != 0.0) {
        atomicAdd(&out.total[k], total[k]);
      }
    }
  } else {
    bin_entries(n, first, stride, s, t, grid, delta, out, state);
  }
}

// Writes scale * sum_i w_i H(s_j - p[i]) at every negative, 0 elsewhere (prefixes: w_prefix[m + 1]
// then wp_prefix[m + 1]) and checks every entry as bin_negatives does. Shared layout when kShared:
// the grid, then the prefixes.
template <typename score_t, typename target_t, bool kShared>
__global__ void write_negative_sums(int64_t n, const score_t* __restrict__ s, const target_t* __restrict__ t,
                                    GridScores grid, double delta, const double* __restrict__ prefixes,
                                    double scale, score_t* __restrict__ out,
                                    unsigned long long* __restrict__ state) {
  extern __shared__ double shared[];
  const int64_t m = grid.m;
  const double* w_prefix = prefixes;
  if constexpr (kShared) {
    grid = grid_in_shared(grid, shared);
    double* shared_prefixes = shared + grid_words(grid);
    for (int64_t k = threadIdx.x; k < 2 * (m + 1); k += blockDim.x) {
      shared_prefixes[k] = prefixes[k];
    }
    __syncthreads();
    w_prefix = shared_prefixes;
  }
  const double* wp_prefix = w_prefix + (m + 1);
  const double lowest = m > 0 ? grid.p[0] : 0.0;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < n; j += stride) {
    const double x = static_cast<double>(s[j]);
    const int64_t v = static_cast<int64_t>(t[j]);
    if (!isfinite(x)) {
      atomicMin(&state[kNonFinite], static_cast<unsigned long long>(j));
    } else if (!valid_target(v)) {
      atomicMin(&state[kBadTarget], static_cast<unsigned long long>(j));
    }
    double sum = 0.0;
    if (m > 0 && v == 0 && isfinite(x) && x + delta > lowest) {
      sum = scale * negative_weight_sum(w_prefix, wp_prefix, window_of(grid, x, delta), x, delta);
    }
    out[j] = static_cast<score_t>(sum);
  }
}

// Host copies of device tensors, all made by one synchronisation of the stream.
template <size_t kCount>
std::array<at::Tensor, kCount> copy_to_host(const std::array<at::Tensor, kCount>& tensors, cudaStream_t stream) {
  std::array<at::Tensor, kCount> host;
  for (size_t k = 0; k < kCount; ++k) {
    host[k] = at::empty(tensors[k].sizes(), tensors[k].options().device(at::kCPU).pinned_memory(true));
    host[k].copy_(tensors[k], /*non_blocking=*/true);
  }
  C10_CUDA_CHECK(cudaStreamSynchronize(stream));
  return host;
}

std::array<unsigned long long, kStateSize> state_values(const at::Tensor& host_state) {
  std::array<unsigned long long, kStateSize> values;
  std::memcpy(values.data(), host_state.const_data_ptr<int64_t>(), sizeof(values));
  return values;
}

// Lets a kernel use all of the device's shared memory: once per kernel and device, since setting
// the attribute while another thread launches the same kernel is a race.
void allow_all_shared_memory(const void* kernel, int device, int max_shared) {
  static std::mutex mutex;
  static std::set<std::pair<const void*, int>> done;
  const std::lock_guard<std::mutex> lock(mutex);
  if (done.insert({kernel, device}).second) {
    C10_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, max_shared));
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

  // A grid-stride launch over n entries in blocks of `threads`: as many blocks as fit on the
  // device at once, fewer for small n.
  template <typename Kernel>
  int blocks(Kernel kernel, int64_t n, int threads, size_t shared_bytes) const {
    int per_sm = 0;
    C10_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, shared_bytes));
    const int64_t needed = (n + threads - 1) / threads;
    return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(needed, static_cast<int64_t>(sms) * per_sm)));
  }

  // Launches the kernel's shared-memory variant when `words` 8-byte words of shared memory can be
  // had and every block has at least as many entries to look up as it copies words (and fewer
  // than 2^31, for its int counts), else its global-memory variant. A shared-memory block is as
  // large as the kernel allows: when the grid takes most of a multiprocessor's shared memory, one
  // block is all that fits there, and its threads alone must hide the latency of the searches.
  template <typename SharedKernel, typename GlobalKernel, typename... Args>
  void run(SharedKernel shared_variant, GlobalKernel global_variant, int64_t words, int64_t n,
           Args... args) const {
    const size_t bytes = static_cast<size_t>(words) * sizeof(double);
    if (bytes <= static_cast<size_t>(max_shared)) {
      allow_all_shared_memory(reinterpret_cast<const void*>(shared_variant), device, max_shared);
      cudaFuncAttributes attributes;
      C10_CUDA_CHECK(cudaFuncGetAttributes(&attributes, shared_variant));
      const int threads = std::min(kMaxSharedThreads, attributes.maxThreadsPerBlock / 32 * 32);
      const int shared_blocks = blocks(shared_variant, n, threads, bytes);
      if (n >= words * shared_blocks && n / shared_blocks < std::numeric_limits<int>::max()) {
        shared_variant<<<shared_blocks, threads, bytes, stream>>>(n, args...);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
        return;
      }
    }
    global_variant<<<blocks(global_variant, n, kThreads, 0), kThreads, 0, stream>>>(n, args...);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
};

// State buffer for the kernels: no positive counted or gathered, no invalid entry found.
at::Tensor new_state(const at::Tensor& like) {
  at::Tensor state = at::zeros({kStateSize}, like.options().dtype(at::kLong));
  state.narrow(0, kBadTarget, 2).fill_(-1);  // kNotFound as a bit pattern
  return state;
}

unsigned long long* state_pointer(at::Tensor& state) {
  return reinterpret_cast<unsigned long long*>(state.data_ptr<int64_t>());
}

// Raises for the first invalid target that the kernels found.
void raise_if_bad_target(const std::array<unsigned long long, kStateSize>& found, const at::Tensor& targets) {
  if (found[kBadTarget] != kNotFound) {
    const int64_t at_index = static_cast<int64_t>(found[kBadTarget]);
    raise_bad_target(at_index, targets.view(-1)[at_index].item<int64_t>());
  }
}

// Raises for the first invalid target, else the first non-finite score, that the kernels found.
void raise_if_invalid(const std::array<unsigned long long, kStateSize>& found, const at::Tensor& scores,
                      const at::Tensor& targets) {
  raise_if_bad_target(found, targets);
  if (found[kNonFinite] != kNotFound) {
    const int64_t at_index = static_cast<int64_t>(found[kNonFinite]);
    raise_nonfinite_score(at_index, scores.view(-1)[at_index].item<double>());
  }
}

// The cell grid of the m sorted positives (host_p, float64 on the host), built on the host (O(m))
// and copied to the device for the passes.
struct DeviceGrid {
  GridTable table;
  at::Tensor padded_p;
  at::Tensor cell_start;
  GridScores grid;

  DeviceGrid(const at::Tensor& host_p, const at::Tensor& like) {
    const int64_t m = host_p.numel();
    if (m > 0) {
      table = GridTable(host_p.const_data_ptr<double>(), m);
    }
    padded_p = at::tensor(table.padded_p, at::dtype(at::kDouble)).to(like.options().dtype(at::kDouble));
    cell_start = at::tensor(table.cell_start, at::dtype(at::kInt)).to(like.options().dtype(at::kInt));
    grid = table.view();
    grid.p = padded_p.const_data_ptr<double>();
    grid.cell_start = cell_start.const_data_ptr<int32_t>();
  }
};

// Pass 1 on the device: checks every entry (raises for an invalid one) and returns the summed
// slots (rank_slots_in) on the host.
template <typename score_t, typename target_t>
at::Tensor bin_on_device(const Launch& launch, const at::Tensor& scores, const at::Tensor& targets,
                         const GridScores& grid, double delta, at::Tensor& state) {
  const int64_t m = grid.m;
  at::Tensor slots = at::zeros({rank_slots_size(m)}, scores.options().dtype(at::kDouble));
  launch.run(bin_negatives<score_t, target_t, true>, bin_negatives<score_t, target_t, false>,
             grid_words(grid) + 2 * (m + 1), scores.numel(), scores.const_data_ptr<score_t>(),
             targets.const_data_ptr<target_t>(), grid, delta, slots.data_ptr<double>(), state_pointer(state));
  const auto [host_slots, host_state] = copy_to_host<2>({slots, state}, launch.stream);
  raise_if_invalid(state_values(host_state), scores, targets);
  return host_slots;
}

// Pass 2 on the device into `out` (scores' shape and dtype); prefixes: weight_prefixes on the host.
// Invalid entries are reported in state (read by the caller when it needs to).
template <typename score_t, typename target_t>
void write_on_device(const Launch& launch, const at::Tensor& scores, const at::Tensor& targets,
                     const GridScores& grid, double delta, const std::vector<double>& prefixes, double scale,
                     at::Tensor& out, at::Tensor& state) {
  const at::Tensor device_prefixes =
      at::tensor(prefixes, at::dtype(at::kDouble)).to(scores.options().dtype(at::kDouble));
  launch.run(write_negative_sums<score_t, target_t, true>, write_negative_sums<score_t, target_t, false>,
             grid_words(grid) + static_cast<int64_t>(prefixes.size()), scores.numel(),
             scores.const_data_ptr<score_t>(), targets.const_data_ptr<target_t>(), grid, delta,
             device_prefixes.const_data_ptr<double>(), scale, out.mutable_data_ptr<score_t>(),
             state_pointer(state));
}

// The flat indices of the positives, ascending, after checking every target (raises for an
// invalid one). Counts them first, so that the index buffer holds m entries, not n.
template <typename target_t>
at::Tensor positive_indices(const Launch& launch, const at::Tensor& targets, at::Tensor& state) {
  const int64_t n = targets.numel();
  const target_t* t = targets.const_data_ptr<target_t>();
  count_positives<target_t><<<launch.blocks(count_positives<target_t>, n, kThreads, 0), kThreads, 0, launch.stream>>>(
      n, t, state_pointer(state));
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const auto found = state_values(copy_to_host<1>({state}, launch.stream)[0]);
  raise_if_bad_target(found, targets);
  const int64_t m = static_cast<int64_t>(found[kPositives]);
  at::Tensor index = at::empty({m}, targets.options().dtype(at::kLong));
  if (m > 0) {
    gather_positives<target_t><<<launch.blocks(gather_positives<target_t>, n, kThreads, 0), kThreads, 0, launch.stream>>>(
        n, t, index.data_ptr<int64_t>(), state_pointer(state));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
  return std::get<0>(index.sort());
}

// The positives' flat indices (ascending) reordered by ascending score, ties by index, and their
// scores as float64: (sorted scores, sorted indices). Sorted on the device, where they are: on the
// host they would cost a copy each way and a sort of m on one CPU thread. (The CPU kernels sort on
// the host: sort_positives_on_host there.) Non-finite scores sort without harm (NaN last); pass 1
// reports them.
std::tuple<at::Tensor, at::Tensor> sort_positives_on_device(const at::Tensor& flat_scores,
                                                            const at::Tensor& positive_index) {
  const at::Tensor values = flat_scores.index_select(0, positive_index).to(at::kDouble);
  const auto [sorted, order] = values.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false);
  return {sorted.contiguous(), positive_index.index_select(0, order)};
}

// The op's outputs once the ranking is known: the positives' gradients go into grad (which holds
// the negatives'), and the loss.
std::tuple<at::Tensor, at::Tensor> finish_positives(const PositiveRanking& ranking,
                                                    const at::Tensor& sorted_index, at::Tensor grad) {
  grad.view(-1).index_copy_(0, sorted_index,
                            at::tensor(ranking.gradients, at::dtype(at::kDouble)).to(grad.options()));
  return {at::scalar_tensor(ranking.loss, grad.options()), grad};
}

// Raises for the first target that valid_target refuses: the same test as tensor ops.
void check_rank_sort_targets(const at::Tensor& targets) {
  const at::Tensor valid =
      targets.eq(0).logical_or_(targets.eq(-1)).logical_or_(targets.gt(0).logical_and_(targets.le(1)));
  if (!valid.all().item<bool>()) {
    const int64_t at_index = valid.logical_not().view(-1).nonzero()[0][0].item<int64_t>();
    raise_bad_rank_sort_target(at_index, targets.view(-1)[at_index].item<double>());
  }
}

// Raises for the first non-finite score when a positive's score is not finite: the sorting part
// would otherwise run on it before pass 1 reports it.
void check_positive_scores(const at::Tensor& sorted_positives, const at::Tensor& flat_scores) {
  if (!sorted_positives.isfinite().all().item<bool>()) {
    const int64_t at_index = flat_scores.isfinite().logical_not_().nonzero()[0][0].item<int64_t>();
    raise_nonfinite_score(at_index, flat_scores[at_index].item<double>());
  }
}

struct CudaKernel {
  // Not fused on the GPU yet: ap_rank's passes on the targets' signs (1, 0, -1 once the targets
  // are checked), the sorting part's kernels and tensor ops.
  template <typename score_t, typename target_t>
  static RankSortResult rank_sort(const at::Tensor& scores, const at::Tensor& targets, double delta) {
    const c10::cuda::CUDAGuard guard(scores.device());
    check_rank_sort_targets(targets);
    const at::Tensor roles = targets.sign().to(at::kChar);
    const Launch launch(scores);
    at::Tensor state = new_state(roles);
    const at::Tensor positive_index = positive_indices<int8_t>(launch, roles, state);
    const auto [p, sorted_index] = sort_positives_on_device(scores.view(-1), positive_index);
    const int64_t m = p.numel();
    if (m == 0) {
      count_false_positives<score_t, int8_t>(scores, roles, p, delta);  // checks every score
      return rank_sort_without_positives(scores);
    }
    check_positive_scores(p, scores.view(-1));
    const at::Tensor y = targets.view(-1).index_select(0, sorted_index).to(at::kDouble);
    const SortingOutputs sorting = checked_sorting_outputs(p, y, delta);
    sort_positives_cuda(p, y, delta, sorting);
    auto [fp, grad] = rank_sort_negatives_in_two_passes<CudaKernel, score_t, int8_t>(
        scores, roles, p, sorting.rank_pos, 1.0 / static_cast<double>(m), delta);
    return finish_rank_sort(fp, sorting, sorted_index, std::move(grad));
  }

  // Not fused on the GPU yet: the two public passes.
  template <typename score_t, typename target_t>
  static std::tuple<at::Tensor, at::Tensor> rank_sort_negatives(const at::Tensor& scores, const at::Tensor& targets,
                                                                const at::Tensor& sorted_positives,
                                                                const at::Tensor& rank_pos, double scale,
                                                                double delta) {
    return rank_sort_negatives_in_two_passes<CudaKernel, score_t, target_t>(scores, targets, sorted_positives,
                                                                            rank_pos, scale, delta);
  }

  template <typename score_t, typename target_t>
  static std::tuple<at::Tensor, at::Tensor> ap_rank(const at::Tensor& scores, const at::Tensor& targets,
                                                    double delta, bool interpolated) {
    const c10::cuda::CUDAGuard guard(scores.device());
    const Launch launch(scores);
    at::Tensor state = new_state(targets);
    const at::Tensor positive_index = positive_indices<target_t>(launch, targets, state);
    const int64_t m = positive_index.numel();
    const auto [sorted_scores, sorted_index] = sort_positives_on_device(scores.view(-1), positive_index);
    const at::Tensor host_p = sorted_scores.cpu();
    const DeviceGrid device_grid(host_p, scores);

    at::Tensor host_slots = bin_on_device<score_t, target_t>(launch, scores, targets, device_grid.grid,
                                                             delta, state);
    if (m == 0) {
      return {at::zeros({}, scores.options()), at::zeros_like(scores)};
    }
    const double* p = host_p.const_data_ptr<double>();
    const PositiveRanking ranking = rank_positives(
        p, m, delta, interpolated, ranked_sums(p, m, delta, rank_slots_in(host_slots.data_ptr<double>(), m)));
    at::Tensor grad = at::empty_like(scores);
    write_on_device<score_t, target_t>(launch, scores, targets, device_grid.grid, delta, ranking.prefixes,
                                       1.0 / static_cast<double>(m), grad, state);
    return finish_positives(ranking, sorted_index, grad);
  }

  template <typename score_t, typename target_t>
  static at::Tensor count_false_positives(const at::Tensor& scores, const at::Tensor& targets,
                                          const at::Tensor& sorted_positives, double delta) {
    const c10::cuda::CUDAGuard guard(scores.device());
    const Launch launch(scores);
    const at::Tensor host_p = sorted_positives.cpu();
    const int64_t m = host_p.numel();
    const double* p = host_p.const_data_ptr<double>();
    check_positive_values("false_positive_sums", p, nullptr, m);
    const DeviceGrid device_grid(host_p, scores);
    at::Tensor state = new_state(targets);
    at::Tensor host_slots = bin_on_device<score_t, target_t>(launch, scores, targets, device_grid.grid,
                                                             delta, state);
    const std::vector<double> sums = ranked_sums(p, m, delta, rank_slots_in(host_slots.data_ptr<double>(), m));
    return at::tensor(sums, at::dtype(at::kDouble)).view({m}).to(sorted_positives.device());
  }

  template <typename score_t, typename target_t>
  static at::Tensor weigh_negatives(const at::Tensor& scores, const at::Tensor& targets,
                                    const at::Tensor& sorted_positives, const at::Tensor& weights,
                                    double delta) {
    const c10::cuda::CUDAGuard guard(scores.device());
    const Launch launch(scores);
    const auto [host_p, host_w] = copy_to_host<2>({sorted_positives, weights}, launch.stream);
    const int64_t m = host_p.numel();
    const double* p = host_p.const_data_ptr<double>();
    const double* w = host_w.const_data_ptr<double>();
    check_positive_values("negative_weight_sums", p, w, m);
    const DeviceGrid device_grid(host_p, scores);
    at::Tensor state = new_state(targets);
    at::Tensor sums = at::empty_like(scores);
    write_on_device<score_t, target_t>(launch, scores, targets, device_grid.grid, delta,
                                       weight_prefixes(p, w, m), 1.0, sums, state);
    raise_if_invalid(state_values(copy_to_host<1>({state}, launch.stream)[0]), scores, targets);
    return sums;
  }
};

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_losses, CUDA, m) {
  m.impl("ap_rank", &dispatch_ap_rank<CudaKernel>);
  m.impl("false_positive_sums", &dispatch_false_positive_sums<CudaKernel>);
  m.impl("negative_weight_sums", &dispatch_negative_weight_sums<CudaKernel>);
  m.impl("rank_sort_negatives", &dispatch_rank_sort_negatives<CudaKernel>);
  m.impl("rank_sort", &dispatch_rank_sort<CudaKernel>);
}

}  // namespace mmdet_losses
