// The AVX2 kernel of ap_rank, rank_sort and the passes (fp32 scores; int8, int32, int64 or, for
// rank_sort, floating targets). Same
// method as the portable kernel, in another form: a negative's window (lo, hi) over the sorted
// positives depends only on where its score x falls among the 2m window edges p[i] - delta and
// p[i] + delta. So each negative needs ONE search, for its segment k = #{edges < x}, and both
// passes work per segment:
//   pass 1 counts the negatives of each segment and sums their scores (two adds, not five);
//   pass 2 writes a + b x with a and b tabulated per segment.
// The edges are kept as fp32 rounded down: for an fp32 score x and a float64 edge e, e < x exactly
// when (largest fp32 <= e) < x, so 8 scores are compared at once without converting them. Edges
// computed as p[i] +- delta and rounded once give the windows of the float64 arithmetic up to that
// rounding; H is continuous at both edges, so the sums differ only in the last bits.
#include "ap_rank_cpu_avx2.h"

#include "../ap_rank.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define MMDET_LOSSES_AVX2 1
#endif

namespace mmdet_losses {

#ifdef MMDET_LOSSES_AVX2

namespace {

#define AVX2_TARGET __attribute__((target("avx2,fma,popcnt")))

// The largest fp32 <= v (-inf or +inf beyond fp32's range).
float float_at_or_below(double v) {
  float f = static_cast<float>(v);
  if (static_cast<double>(f) > v) {
    f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  }
  return f;
}

// The sorted window edges and a uniform grid over them, as the searches read them. cell_of is
// monotone under fp32 rounding, so the edges of lower cells are < x and those of higher cells > x:
// an entry's segment is its cell's first edge plus the number of that cell's edges below it. The
// grid is fine enough that most cells hold at most one edge, which one comparison settles; where
// a cell holds more, `steps` branch-free halvings do (cells hold fewer than 2^steps edges).
struct Segments {
  std::vector<float> edges;        // 2m ascending, then 2^steps entries of +inf
  std::vector<int32_t> lo, hi;     // per segment k in [0, 2m]: the window of its scores
  // Per cell, 2 (index of its first edge) + 1 if it holds several edges, and in the high 32 bits
  // that edge's value (the first edge of a higher cell, or +inf, when the cell holds none).
  std::vector<uint64_t> cell;
  float origin = 0.0f;
  float scale = 0.0f;
  float last_cell = 0.0f;
  int steps = 0;

  int32_t cell_of(float x) const {
    float v = (x - origin) * scale;
    v = v > 0.0f ? v : 0.0f;  // as _mm256_max_ps(v, 0): NaN (inf * 0) goes to cell 0
    v = v < last_cell ? v : last_cell;
    return static_cast<int32_t>(v);
  }
};

constexpr int64_t kCellsPerEdge = 16;
// At most an 8 MB table; below 2^24 cells, float(cells - 1) is exact.
constexpr int64_t kMaxCells = int64_t{1} << 20;

std::optional<Segments> segments_of(const double* p, int64_t m, double delta) {
  if (m > (int64_t{1} << 28)) {
    return std::nullopt;
  }
  std::vector<float> minus(m), plus(m);
  for (int64_t i = 0; i < m; ++i) {
    minus[i] = float_at_or_below(p[i] - delta);
    plus[i] = float_at_or_below(p[i] + delta);
  }
  if (!std::isfinite(minus[0]) || !std::isfinite(plus[m - 1])) {
    return std::nullopt;
  }
  Segments seg;
  seg.edges.resize(2 * m);
  seg.lo.resize(2 * m + 1);
  seg.hi.resize(2 * m + 1);
  // Merged ascending; a score above the edge minus[i] has positive i in or below its window (hi
  // counts them), above plus[i] it has positive i below its window (lo counts them).
  int64_t a = 0, b = 0;
  seg.lo[0] = seg.hi[0] = 0;
  for (int64_t k = 0; k < 2 * m; ++k) {
    if (b == m || (a < m && minus[a] <= plus[b])) {
      seg.edges[k] = minus[a++];
    } else {
      seg.edges[k] = plus[b++];
    }
    seg.hi[k + 1] = static_cast<int32_t>(a);
    seg.lo[k + 1] = static_cast<int32_t>(b);
  }
  const int64_t cells = std::min(kCellsPerEdge * 2 * m, kMaxCells);
  const float span = seg.edges[2 * m - 1] - seg.edges[0];
  seg.origin = seg.edges[0];
  seg.scale = static_cast<float>(cells) / span;
  seg.last_cell = static_cast<float>(cells - 1);
  if (!(seg.scale > 0.0f && std::isfinite(seg.scale))) {  // equal edges, or a span beyond fp32: one cell
    seg.scale = 0.0f;
    seg.last_cell = 0.0f;
  }
  const int64_t used_cells = static_cast<int64_t>(seg.last_cell) + 1;
  std::vector<int32_t> occupancy(used_cells, 0);
  for (int64_t k = 0; k < 2 * m; ++k) {
    ++occupancy[seg.cell_of(seg.edges[k])];
  }
  int32_t most = 0;
  for (int64_t c = 0; c < used_cells; ++c) {
    most = std::max(most, occupancy[c]);
  }
  while ((int64_t{1} << seg.steps) <= most) {
    ++seg.steps;
  }
  seg.edges.resize(2 * m + (int64_t{1} << seg.steps), std::numeric_limits<float>::infinity());
  seg.cell.resize(used_cells);
  int32_t first = 0;
  for (int64_t c = 0; c < used_cells; ++c) {
    uint32_t edge_bits;
    std::memcpy(&edge_bits, &seg.edges[first], sizeof edge_bits);
    seg.cell[c] = static_cast<uint32_t>(2 * first + (occupancy[c] > 1 ? 1 : 0)) |
                  (static_cast<uint64_t>(edge_bits) << 32);
    first += occupancy[c];
  }
  return seg;
}

// The segments of 8 scores.
AVX2_TARGET inline __m256i segments_of_8(const Segments& seg, __m256 x) {
  __m256 v = _mm256_mul_ps(_mm256_sub_ps(x, _mm256_set1_ps(seg.origin)), _mm256_set1_ps(seg.scale));
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(seg.last_cell));
  const __m256i cell = _mm256_cvttps_epi32(v);
  const long long* records = reinterpret_cast<const long long*>(seg.cell.data());
  const __m256 low =
      _mm256_castsi256_ps(_mm256_i32gather_epi64(records, _mm256_castsi256_si128(cell), 8));
  const __m256 high =
      _mm256_castsi256_ps(_mm256_i32gather_epi64(records, _mm256_extracti128_si256(cell, 1), 8));
  // The 8 records' low and high halves, in lane order.
  const __m256i word = _mm256_permute4x64_epi64(
      _mm256_castps_si256(_mm256_shuffle_ps(low, high, _MM_SHUFFLE(2, 0, 2, 0))), _MM_SHUFFLE(3, 1, 2, 0));
  const __m256 first_edge = _mm256_castpd_ps(_mm256_permute4x64_pd(
      _mm256_castps_pd(_mm256_shuffle_ps(low, high, _MM_SHUFFLE(3, 1, 3, 1))), _MM_SHUFFLE(3, 1, 2, 0)));
  __m256i at = _mm256_srli_epi32(word, 1);
  const __m256i several = _mm256_and_si256(word, _mm256_set1_epi32(1));
  if (_mm256_testz_si256(several, several)) {
    // Each cell holds at most one edge, and an empty cell's next edge lies above x.
    return _mm256_sub_epi32(at, _mm256_castps_si256(_mm256_cmp_ps(first_edge, x, _CMP_LT_OQ)));
  }
  for (int step = seg.steps - 1; step >= 0; --step) {
    const int half = 1 << step;
    const __m256 edge = _mm256_i32gather_ps(seg.edges.data() + half - 1, at, 4);
    const __m256i below = _mm256_castps_si256(_mm256_cmp_ps(edge, x, _CMP_LT_OQ));
    at = _mm256_add_epi32(at, _mm256_and_si256(below, _mm256_set1_epi32(half)));
  }
  return at;
}

int32_t segment_of(const Segments& seg, float x) {
  int32_t at = static_cast<int32_t>(static_cast<uint32_t>(seg.cell[seg.cell_of(x)]) >> 1);
  for (int step = seg.steps - 1; step >= 0; --step) {
    const int half = 1 << step;
    at += seg.edges[at + half - 1] < x ? half : 0;
  }
  return at;
}

// Shuffles by an 8-bit lane mask: pack[mask] moves the lanes it selects to the front (in order);
// expand[mask] moves the front lanes back to the selected ones.
struct LaneTables {
  alignas(32) int32_t pack[256][8];
  alignas(32) int32_t expand[256][8];
  LaneTables() {
    for (int mask = 0; mask < 256; ++mask) {
      int packed = 0;
      for (int lane = 0; lane < 8; ++lane) {
        expand[mask][lane] = packed;
        if (mask & (1 << lane)) {
          pack[mask][packed++] = lane;
        }
      }
      for (int lane = packed; lane < 8; ++lane) {
        pack[mask][lane] = 0;
      }
    }
  }
};
const LaneTables kLanes;

// What pass 1 keeps of a chunk for pass 2: which of each 8 entries reach a positive's window
// (segment >= 1), and the reaching negatives' scores and segments, packed in entry order (with
// room for one vector more).
struct ChunkNegatives {
  uint8_t* reaching;  // one mask per 8 entries
  float* score;       // pass 2 overwrites each with its gradient
  int32_t* segment;
  int64_t count = 0;
  int64_t first_invalid = -1;  // chunk offset of the first non-finite score
};

constexpr int64_t kBlock = 4096;  // a multiple of 8
constexpr int kCopies = 4;        // copies of each segment's bins: clustered scores chain fewer adds

// Bit i set where t[i] (of 8) is 0, a negative.
AVX2_TARGET inline int negative_lanes(const int8_t* t) {
  const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(t));
  return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) & 0xff;
}

AVX2_TARGET inline int negative_lanes(const int32_t* t) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t));
  return _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(v, _mm256_setzero_si256())));
}

AVX2_TARGET inline int negative_lanes(const int64_t* t) {
  const __m256i low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t));
  const __m256i high = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + 4));
  return _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(low, _mm256_setzero_si256()))) |
         (_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(high, _mm256_setzero_si256()))) << 4);
}

// Floating targets (Rank & Sort): 0 and -0 are negatives.
AVX2_TARGET inline int negative_lanes(const float* t) {
  return _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(t), _mm256_setzero_ps(), _CMP_EQ_OQ));
}

AVX2_TARGET inline int negative_lanes(const double* t) {
  return _mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(t), _mm256_setzero_pd(), _CMP_EQ_OQ)) |
         (_mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(t + 4), _mm256_setzero_pd(), _CMP_EQ_OQ)) << 4);
}

// fp16 and bf16: every bit but the sign is 0.
AVX2_TARGET inline int zero_lanes_16(const void* t) {
  const __m128i v = _mm_and_si128(_mm_loadu_si128(static_cast<const __m128i*>(t)), _mm_set1_epi16(0x7fff));
  const __m128i zero = _mm_cmpeq_epi16(v, _mm_setzero_si128());
  return _mm_movemask_epi8(_mm_packs_epi16(zero, zero)) & 0xff;
}

AVX2_TARGET inline int negative_lanes(const c10::Half* t) { return zero_lanes_16(t); }
AVX2_TARGET inline int negative_lanes(const c10::BFloat16* t) { return zero_lanes_16(t); }

// Pass 1 over one chunk: packs the reaching negatives of each block of kBlock entries, searches
// their segments and bins them (bins[(k kCopies + copy) 2 + {0, 1}]: count and sum of scores),
// while the block is in cache.
template <typename target_t>
AVX2_TARGET void bin_chunk(const float* s, const target_t* t, int64_t length, const Segments& seg,
                           double* bins, ChunkNegatives& out) {
  // Locals: stores through out's pointers could otherwise alias out itself.
  uint8_t* const reaching = out.reaching;
  float* const score = out.score;
  int32_t* const segment = out.segment;
  const float reach_score = seg.edges[0];
  const __m256 reach = _mm256_set1_ps(reach_score);
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 infinity = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  int64_t count = 0;
  for (int64_t block = 0; block < length; block += kBlock) {
    const int64_t block_end = std::min(block + kBlock, length);
    const int64_t first = count;
    __m256 finite = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    int64_t j = block;
    for (; j + 8 <= block_end; j += 8) {
      const __m256 x = _mm256_loadu_ps(s + j);
      const int mask = _mm256_movemask_ps(_mm256_cmp_ps(x, reach, _CMP_GT_OQ)) & negative_lanes(t + j);
      finite = _mm256_and_ps(finite, _mm256_cmp_ps(_mm256_and_ps(x, magnitude), infinity, _CMP_LT_OQ));
      reaching[j / 8] = static_cast<uint8_t>(mask);
      const __m256i pack = _mm256_load_si256(reinterpret_cast<const __m256i*>(kLanes.pack[mask]));
      _mm256_storeu_ps(score + count, _mm256_permutevar8x32_ps(x, pack));
      count += _mm_popcnt_u32(static_cast<unsigned>(mask));
    }
    bool tail_finite = true;
    if (j < block_end) {
      int mask = 0;
      for (int lane = 0; j + lane < block_end; ++lane) {
        const float x = s[j + lane];
        tail_finite &= std::isfinite(x);
        score[count] = x;
        const bool reaches = is_negative_target(t[j + lane]) & (x > reach_score);
        mask |= static_cast<int>(reaches) << lane;
        count += reaches;
      }
      reaching[j / 8] = static_cast<uint8_t>(mask);
    }
    if (_mm256_movemask_ps(finite) != 0xff || !tail_finite) {
      for (j = block; std::isfinite(s[j]); ++j) {
      }
      out.first_invalid = j;
      return;
    }
    int64_t i = first;
    for (; i + 8 <= count; i += 8) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(segment + i),
                          segments_of_8(seg, _mm256_loadu_ps(score + i)));
    }
    for (; i < count; ++i) {
      segment[i] = segment_of(seg, score[i]);
    }
    for (i = first; i < count; ++i) {
      double* bin = bins + 2 * (segment[i] * kCopies + (i & (kCopies - 1)));
      bin[0] += 1.0;
      bin[1] += static_cast<double>(score[i]);
    }
  }
  out.count = count;
}

// Pass 2 over one chunk: a[k] + b[k] x for each reaching negative, in place of its packed score,
// then every entry written in order: those values where the masks say so, 0 elsewhere. line[k] =
// (a[k], b[k]): one 16-byte load per negative (faster here than two gathers).
AVX2_TARGET void write_chunk(ChunkNegatives& negatives, int64_t length, const double* line, float* g) {
  float* const value = negatives.score;
  const int32_t* const segment = negatives.segment;
  int64_t i = 0;
  for (; i + 4 <= negatives.count; i += 4) {
    const __m256d line02 = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(line + 2 * segment[i])),
                                                _mm_loadu_pd(line + 2 * segment[i + 2]), 1);
    const __m256d line13 = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(line + 2 * segment[i + 1])),
                                                _mm_loadu_pd(line + 2 * segment[i + 3]), 1);
    // (a0, a1, a2, a3) and (b0, b1, b2, b3)
    const __m256d a = _mm256_unpacklo_pd(line02, line13);
    const __m256d b = _mm256_unpackhi_pd(line02, line13);
    const __m256d x = _mm256_cvtps_pd(_mm_loadu_ps(value + i));
    _mm_storeu_ps(value + i, _mm256_cvtpd_ps(_mm256_fmadd_pd(b, x, a)));
  }
  for (; i < negatives.count; ++i) {
    const double* ab = line + 2 * segment[i];
    value[i] = static_cast<float>(std::fma(ab[1], static_cast<double>(value[i]), ab[0]));
  }
  const __m256i lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const uint8_t* const reaching = negatives.reaching;
  int64_t packed = 0;
  int64_t j = 0;
  for (; j + 8 <= length; j += 8) {
    const int mask = reaching[j / 8];
    const __m256i expand = _mm256_load_si256(reinterpret_cast<const __m256i*>(kLanes.expand[mask]));
    const __m256i selected =
        _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(mask), lane_bit), lane_bit);
    const __m256 spread = _mm256_permutevar8x32_ps(_mm256_loadu_ps(value + packed), expand);
    _mm256_storeu_ps(g + j, _mm256_and_ps(spread, _mm256_castsi256_ps(selected)));
    packed += _mm_popcnt_u32(static_cast<unsigned>(mask));
  }
  if (j < length) {
    const int mask = reaching[j / 8];
    for (int lane = 0; j + lane < length; ++lane) {
      g[j + lane] = (mask >> lane) & 1 ? value[packed++] : 0.0f;
    }
  }
}

// Bit i set where target t[i] (of 32) is not negative_or_ignored.
AVX2_TARGET inline uint32_t positive_or_invalid_32(const int8_t* t) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t));
  const __m256i usual = _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_setzero_si256()),
                                        _mm256_cmpeq_epi8(v, _mm256_set1_epi8(-1)));
  return ~static_cast<uint32_t>(_mm256_movemask_epi8(usual));
}

// Bit i set where target t[i] (of 8) is neither 0 nor -1.
AVX2_TARGET inline uint32_t positive_or_invalid_8(const float* t) {
  const __m256 v = _mm256_loadu_ps(t);
  const __m256 usual = _mm256_or_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_EQ_OQ),
                                    _mm256_cmp_ps(v, _mm256_set1_ps(-1.0f), _CMP_EQ_OQ));
  return ~static_cast<uint32_t>(_mm256_movemask_ps(usual)) & 0xff;
}

}  // namespace

AVX2_TARGET int64_t next_positive_or_invalid_avx2(const float* t, int64_t from, int64_t end) {
  for (; from + 64 <= end; from += 64) {
    uint64_t found = 0;
    for (int k = 0; k < 8; ++k) {
      found |= static_cast<uint64_t>(positive_or_invalid_8(t + from + 8 * k)) << (8 * k);
    }
    if (found != 0) {
      return from + __builtin_ctzll(found);
    }
  }
  for (; from < end && negative_or_ignored(t[from]); ++from) {
  }
  return from;
}

AVX2_TARGET int64_t next_positive_or_invalid_avx2(const int8_t* t, int64_t from, int64_t end) {
  for (; from + 64 <= end; from += 64) {
    const uint64_t found = positive_or_invalid_32(t + from) |
                           (static_cast<uint64_t>(positive_or_invalid_32(t + from + 32)) << 32);
    if (found != 0) {
      return from + __builtin_ctzll(found);
    }
  }
  for (; from < end && negative_or_ignored(t[from]); ++from) {
  }
  return from;
}

bool avx2_kernel_enabled() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("popcnt");
  }();
  const char* setting = std::getenv("MMDET_LOSSES_CPU_SIMD");
  return supported && !(setting != nullptr && std::strcmp(setting, "0") == 0);
}

// Runs bin_chunks(targets' data) when the targets are of one of target_ts: whether they were.
template <typename... target_ts, typename BinChunks>
bool bin_with_targets_of(const at::Tensor& targets, BinChunks&& bin_chunks) {
  const auto bin_if = [&]<typename target_t>() {
    if (targets.scalar_type() != c10::CppTypeToScalarType<target_t>::value) {
      return false;
    }
    bin_chunks(targets.const_data_ptr<target_t>());
    return true;
  };
  return (bin_if.template operator()<target_ts>() || ...);
}

// What pass 1 leaves for the rest: the edges, the chunks' packed negatives and their storage, the
// segments' bins.
struct Avx2Ranking::State {
  Segments seg;
  int64_t n = 0, m = 0, chunks = 0, chunk_size = 0;
  std::unique_ptr<uint8_t[]> reaching;
  std::unique_ptr<float[]> score;
  std::unique_ptr<int32_t[]> segment;
  std::vector<ChunkNegatives> negatives;
  std::vector<double> bins;
  std::vector<int64_t> sizes;
  at::TensorOptions options;

  int64_t chunk_begin(int64_t c) const { return std::min(n, c * chunk_size); }
};

Avx2Ranking::Avx2Ranking(std::unique_ptr<State> state) : state_(std::move(state)) {}
Avx2Ranking::Avx2Ranking(Avx2Ranking&&) noexcept = default;
Avx2Ranking::~Avx2Ranking() = default;

std::optional<Avx2Ranking> Avx2Ranking::pass1(const at::Tensor& scores, const at::Tensor& targets,
                                              const double* p, int64_t m, double delta) {
  if (m == 0) {
    return std::nullopt;
  }
  std::optional<Segments> found = segments_of(p, m, delta);
  if (!found) {
    return std::nullopt;
  }
  auto state = std::make_unique<State>();
  State& st = *state;
  st.seg = std::move(*found);
  st.n = scores.numel();
  st.m = m;
  st.sizes = scores.sizes().vec();
  st.options = scores.options();
  // One chunk per thread, of at least 2^16 entries.
  st.chunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), st.n >> 16));
  st.chunk_size = (st.n + st.chunks - 1) / st.chunks;
  const int64_t capacity = st.n + 8 * st.chunks;
  st.reaching.reset(new uint8_t[st.n / 8 + st.chunks]);
  st.score.reset(new float[capacity]);
  st.segment.reset(new int32_t[capacity]);
  st.negatives.resize(st.chunks);
  const int64_t bins_per_chunk = 2 * kCopies * (2 * m + 1);
  st.bins.assign(st.chunks * bins_per_chunk, 0.0);
  const float* s = scores.const_data_ptr<float>();
  const auto bin_chunks = [&](const auto* t) {
    at::parallel_for(0, st.chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t begin = st.chunk_begin(c), room = begin + 8 * c;
        st.negatives[c] = {st.reaching.get() + begin / 8 + c, st.score.get() + room, st.segment.get() + room};
        bin_chunk(s + begin, t + begin, st.chunk_begin(c + 1) - begin, st.seg,
                  st.bins.data() + c * bins_per_chunk, st.negatives[c]);
      }
    });
  };
  if (!bin_with_targets_of<int8_t, int32_t, int64_t, float, double, c10::Half, c10::BFloat16>(targets, bin_chunks)) {
    return std::nullopt;
  }
  for (int64_t c = 0; c < st.chunks; ++c) {
    if (st.negatives[c].first_invalid >= 0) {
      const int64_t j = st.chunk_begin(c) + st.negatives[c].first_invalid;
      raise_nonfinite_score(j, static_cast<double>(s[j]));
    }
  }
  return Avx2Ranking(std::move(state));
}

std::vector<double> Avx2Ranking::count_false_positives(const double* p, double delta) const {
  // Each segment's negatives into the difference arrays of the portable kernel, at their window.
  const State& st = *state_;
  const int64_t m = st.m, segments = 2 * m + 1, bins_per_chunk = 2 * kCopies * segments;
  std::vector<double> slots(rank_slots_size(m), 0.0);
  const RankSlots out = rank_slots_in(slots.data(), m);
  for (int64_t k = 1; k < segments; ++k) {
    double count = 0.0, total = 0.0;
    for (int64_t c = 0; c < st.chunks; ++c) {
      for (int copy = 0; copy < kCopies; ++copy) {
        const double* bin = st.bins.data() + c * bins_per_chunk + 2 * (k * kCopies + copy);
        count += bin[0];
        total += bin[1];
      }
    }
    add_scores(out, Window{st.seg.lo[k], st.seg.hi[k]}, count, total);
  }
  return ranked_sums(p, m, delta, out);
}

at::Tensor Avx2Ranking::weigh_negatives(const double* prefixes, double delta, double scale) {
  // scale * sum_i w_i H(x - p[i]) = a[k] + b[k] x over segment k: negative_weight_sum is linear in
  // x within a window.
  State& st = *state_;
  const int64_t segments = 2 * st.m + 1;
  const double* w_prefix = prefixes;
  const double* wp_prefix = prefixes + (st.m + 1);
  std::vector<double> line(2 * segments);
  for (int64_t k = 0; k < segments; ++k) {
    const Window window{st.seg.lo[k], st.seg.hi[k]};
    line[2 * k] = scale * negative_weight_sum(w_prefix, wp_prefix, window, 0.0, delta);
    line[2 * k + 1] = scale * (w_prefix[window.hi] - w_prefix[window.lo]) / (2.0 * delta);
  }
  at::Tensor sums = at::empty(st.sizes, st.options);
  float* g = sums.mutable_data_ptr<float>();
  at::parallel_for(0, st.chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      write_chunk(st.negatives[c], st.chunk_begin(c + 1) - st.chunk_begin(c), line.data(),
                  g + st.chunk_begin(c));
    }
  });
  return sums;
}

#else  // not x86-64 with GCC or Clang: the portable kernel only

bool avx2_kernel_enabled() { return false; }

int64_t next_positive_or_invalid_avx2(const int8_t*, int64_t, int64_t end) { return end; }
int64_t next_positive_or_invalid_avx2(const float*, int64_t, int64_t end) { return end; }

struct Avx2Ranking::State {};

Avx2Ranking::Avx2Ranking(std::unique_ptr<State> state) : state_(std::move(state)) {}
Avx2Ranking::Avx2Ranking(Avx2Ranking&&) noexcept = default;
Avx2Ranking::~Avx2Ranking() = default;

std::optional<Avx2Ranking> Avx2Ranking::pass1(const at::Tensor&, const at::Tensor&, const double*, int64_t,
                                              double) {
  return std::nullopt;
}

std::vector<double> Avx2Ranking::count_false_positives(const double*, double) const { return {}; }

at::Tensor Avx2Ranking::weigh_negatives(const double*, double, double) { return {}; }

#endif

}  // namespace mmdet_losses
