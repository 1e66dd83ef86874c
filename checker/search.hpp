// Generic explicit-state search: breadth-first (level-synchronous, one partition
// of the state store per worker thread, so every counterexample is a shortest
// one), depth-first and random walks. A system supplies states, a successor
// function that reports each transition's invariant violations, and a key per
// state (a fingerprint or an exact encoding); the searches share everything else.
//
//   struct Sys {
//     using State = ...;  using Key = ...;  (Key: uint64_t or std::string)
//     static constexpr bool kStoreStates;  // keep the frontier's states (else: regenerate from the path)
//     State root() const;
//     Key key(const State&) const;
//     void root_violations(const State&, std::vector<Violation>&) const;
//     // for each successor: emit(op, key, state, violations of that transition and state)
//     template <class Emit> void expand(const State&, Emit&&) const;
//     void apply(State&, uint32_t op) const;  // the same successor, again
//     // optional: expand(s, emit, open), where `open` holds the watched invariants not yet
//     // violated (a system may skip judging the others: they are not reported again)
//     // optional: int key_bits() const;  // keys are < 2^key_bits (StoreKind::Dense)
//   };
#pragma once

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <sys/mman.h>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "checker/invariants.hpp"

namespace pidlab::checker {

// Fp64: a hash set of 64-bit keys (fingerprints of the model's encodings; exact when the key is
// the state itself, as in checker/packed.hpp). Exact: a hash set of the encodings. Bitstate:
// lossy bit array. Dense: a direct-addressed bit array over the whole key universe [0,
// 2^dense_bits), one bit per possible key: exact (the key is the index, no hashing, no
// collision), for systems whose keys are small integers (Sys::key_bits()).
enum class StoreKind : uint8_t { Fp64, Exact, Bitstate, Dense };

struct SearchOptions {
    int threads = 2;
    int depth = 8;                 // BFS/DFS bound; random walks: walk length
    uint64_t max_states = 0;       // 0: no limit
    double progress_secs = 1.0;    // 0: no progress lines
    StoreKind store = StoreKind::Fp64;
    int bitstate_log2 = 32;        // bitstate: 2^n bits
    int dense_bits = 0;            // dense: keys are < 2^dense_bits (at most 36)
    uint64_t walks = 1000;         // random walks
    uint64_t seed = 1;
    bool stop_when_all_found = true;
    InvMask mask = 0;              // the invariants watched (stop when all are violated)
};

struct FoundViolation {
    int inv = -1;
    std::vector<uint32_t> path;  // the ops from the root
    std::string detail;
};

struct SearchStats {
    uint64_t states = 0;        // distinct states stored
    uint64_t transitions = 0;   // successors generated
    int depth = 0;              // deepest level reached
    bool exhausted = false;     // every state within the bounds was explored
    bool closed = false;        // ... and no new state was left beyond them (the whole reachable space)
    bool truncated = false;     // stopped early (limit or every invariant violated)
    double seconds = 0;
    double cpu_seconds = 0;     // CPU time of the process (all threads) during the search
    uint64_t peak_rss = 0;      // bytes
    uint64_t store_bytes = 0;   // bytes held by the state store (incl. trace records)
    uint64_t trace_bytes = 0;   // of store_bytes: the trace records (parent, op) of every state
    uint64_t frontier_bytes = 0;  // peak bytes of the stored frontier states (current + next level; kStoreStates)
    std::vector<uint64_t> level_sizes;
    double omission_estimate = 0;  // bitstate: expected number of states wrongly taken as visited
    double collision_bound = 0;    // fp64: bound on the probability that two states shared a fingerprint
};

uint64_t current_rss_bytes();
uint64_t peak_rss_bytes();
inline double process_cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// A cheap full mixer (the murmur3 finaliser): fingerprints are random already, but
// exact packed states are not.
struct IdHash {
    size_t operator()(uint64_t x) const {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ull;
        x ^= x >> 33;
        return static_cast<size_t>(x);
    }
};

// ---------------------------------------------------------------- stores

template <class Key>
struct KeyTraits;
template <>
struct KeyTraits<uint64_t> {
    static uint64_t hash(uint64_t k) { return k * 0x9E3779B97F4A7C15ull; }
    static size_t bytes(uint64_t) { return 0; }
};
template <>
struct KeyTraits<std::string> {
    static uint64_t hash(const std::string& k);
    static size_t bytes(const std::string& k) { return k.capacity() > 15 ? k.capacity() : 0; }
};

// Per-partition exact sets (each owned by one worker: no locks), or one shared bit array.
template <class Key>
class Store {
public:
    Store(StoreKind kind, int parts, int bitstate_log2, int dense_bits = 0) : kind_(kind), parts_(parts) {
        if (kind_ == StoreKind::Bitstate) {
            log2_ = bitstate_log2;
            bits_ = std::vector<std::atomic<uint64_t>>((size_t{1} << log2_) / 64);
        } else if (kind_ == StoreKind::Dense) {
            if constexpr (!std::is_same_v<Key, uint64_t>) {
                throw std::invalid_argument("the dense store needs integer keys");
            } else {
                if (dense_bits < 1 || dense_bits > 36) throw std::invalid_argument("dense store: key bits must be 1..36");
                log2_ = dense_bits;
                // anonymous memory: zeroed pages as they are first touched, in huge pages where
                // the kernel allows (random access over the whole array: fewer TLB misses)
                dense_len_ = std::max<size_t>((size_t{1} << log2_) / 8, 4096);  // bytes: at least a page
                void* p = mmap(nullptr, dense_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED) throw std::bad_alloc();
                if (dense_len_ >= (size_t{2} << 20)) madvise(p, dense_len_, MADV_HUGEPAGE);
                dense_.reset(static_cast<uint64_t*>(p));
                dense_.get_deleter().len = dense_len_;
            }
        } else {
            sets_.resize(parts);
        }
    }
    int owner(const Key& k) const {
        if constexpr (std::is_same_v<Key, uint64_t>) {
            // dense: a whole 64-byte line of the bit array belongs to one owner (no shared words)
            if (kind_ == StoreKind::Dense) return static_cast<int>(IdHash{}(k >> 9) % parts_);
        }
        return static_cast<int>((KeyTraits<Key>::hash(k) >> 40) % parts_);
    }
    // true if new
    bool insert(int part, const Key& k) {
        if constexpr (std::is_same_v<Key, uint64_t>) {
            if (kind_ == StoreKind::Dense) {
                if (k >> log2_) throw std::out_of_range("dense store: a key beyond 2^key_bits");
                uint64_t& w = dense_.get()[k >> 6];
                const uint64_t m = uint64_t{1} << (k & 63);
                if (w & m) return false;
                w |= m;
                return true;
            }
        }
        if (kind_ != StoreKind::Bitstate) {
            bool fresh = sets_[part].insert(k).second;
            if (fresh) key_bytes_[part % 64] += KeyTraits<Key>::bytes(k);
            return fresh;
        }
        uint64_t h = KeyTraits<Key>::hash(k);
        uint64_t h2 = (h >> 32 | h << 32) * 0xC2B2AE3D27D4EB4Full | 1;
        bool fresh = false;
        const uint64_t mask = (uint64_t{1} << log2_) - 1;
        for (int i = 0; i < kHashes; ++i) {
            uint64_t bit = (h + i * h2) & mask;
            uint64_t m = uint64_t{1} << (bit & 63);
            if (!(bits_[bit >> 6].fetch_or(m, std::memory_order_relaxed) & m)) fresh = true;
        }
        return fresh;
    }
    void prefetch(int part, const Key& k) const {
        if constexpr (std::is_same_v<Key, uint64_t>) {
            if (kind_ == StoreKind::Dense) return __builtin_prefetch(dense_.get() + ((k >> 6) & (dense_len_ / 8 - 1)), 1);
        }
        if (kind_ != StoreKind::Bitstate) sets_[part].prefetch(k);
    }
    bool dense() const { return kind_ == StoreKind::Dense; }
    // The whole allocation, whatever the load: for the dense store, 2^key_bits bits (pages never
    // touched are counted too); for the hash sets, every slot of the current capacity (sizeof(Key) +
    // one control byte), so the load factor is included.
    uint64_t bytes() const {
        if (kind_ == StoreKind::Bitstate) return bits_.size() * 8;
        if (kind_ == StoreKind::Dense) return dense_len_;
        uint64_t b = 0;
        for (const auto& s : sets_) b += s.capacity() * (sizeof(Key) + 1);
        for (auto x : key_bytes_) b += x;
        return b;
    }
    // P(a new state looks visited) after n insertions
    double false_positive(uint64_t n) const {
        double m = std::ldexp(1.0, log2_);
        return std::pow(1.0 - std::exp(-kHashes * double(n) / m), kHashes);
    }
    static constexpr int kHashes = 3;

private:
    StoreKind kind_;
    int parts_;
    int log2_ = 0;
    std::vector<absl::flat_hash_set<Key, std::conditional_t<std::is_same_v<Key, uint64_t>, IdHash, absl::Hash<Key>>>> sets_;
    std::vector<std::atomic<uint64_t>> bits_;
    struct Unmap {
        size_t len = 0;
        void operator()(uint64_t* p) const { munmap(p, len); }
    };
    std::unique_ptr<uint64_t[], Unmap> dense_;
    size_t dense_len_ = 0;
    uint64_t key_bytes_[64] = {};
};

// ---------------------------------------------------------------- progress

class Progress {
public:
    Progress(double secs, const char* what) : secs_(secs), what_(what) {
        t0_ = std::chrono::steady_clock::now();
        if (secs_ > 0) th_ = std::thread([this] { run(); });
    }
    ~Progress() { stop(); }
    void stop() {
        {
            std::lock_guard<std::mutex> g(m_);
            done_ = true;
        }
        cv_.notify_all();
        if (th_.joinable()) th_.join();
    }
    std::atomic<uint64_t> states{0}, transitions{0}, queue{0};
    std::atomic<int> depth{0};
    double elapsed() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    }

private:
    void run() {
        std::unique_lock<std::mutex> lk(m_);
        uint64_t last = 0;
        double last_t = 0;
        while (!cv_.wait_for(lk, std::chrono::duration<double>(secs_), [this] { return done_; })) {
            double t = elapsed();
            uint64_t s = states.load();
            std::fprintf(stderr, "[%s %6.1fs] states %llu (%.0f/s), transitions %llu, depth %d, queue %llu, mem %.1f MiB\n",
                         what_, t, (unsigned long long)s, (s - last) / std::max(1e-9, t - last_t),
                         (unsigned long long)transitions.load(), depth.load(), (unsigned long long)queue.load(),
                         current_rss_bytes() / 1048576.0);
            last = s;
            last_t = t;
        }
    }
    double secs_;
    const char* what_;
    std::chrono::steady_clock::time_point t0_;
    std::thread th_;
    std::mutex m_;
    std::condition_variable cv_;
    bool done_ = false;
};

// ---------------------------------------------------------------- breadth-first

template <class Sys>
class Bfs {
public:
    using State = typename Sys::State;
    using Key = typename Sys::Key;

    Bfs(const Sys& sys, const SearchOptions& o) : sys_(sys), o_(o), W_(std::max(1, o.threads)) {}

    std::vector<FoundViolation> run(SearchStats& st) {
        const double cpu0 = process_cpu_seconds();
        Store<Key> store(o_.store, W_, o_.bitstate_log2, o_.dense_bits);
        Progress prog(o_.progress_secs, "explore");
        found_.assign(32, {});
        // level 0
        State root = sys_.root();
        levels_.push_back(std::vector<std::vector<Rec>>(W_));
        Key rk = sys_.key(root);
        int ro = store.owner(rk);
        store.insert(ro, rk);
        levels_[0][ro].push_back({0, 0});
        if constexpr (Sys::kStoreStates) {
            frontier_.assign(W_, {});
            frontier_[ro].push_back(root);
        }
        {
            std::vector<Violation> v;
            sys_.root_violations(root, v);
            for (auto& x : v) note_found(x.inv, {}, std::move(x.detail));
        }
        st.states = 1;
        st.level_sizes = {1};
        prog.states = 1;
        double omitted = 0;
        int depth = 0;
        bool truncated = false;
        for (; depth < o_.depth; ++depth) {
            if (all_found()) { truncated = true; break; }
            uint64_t frontier = 0;
            for (const auto& v : levels_[depth]) frontier += v.size();
            if (frontier == 0) break;
            prog.depth = depth + 1;
            prog.queue = frontier;
            // expansion: worker w expands its own records, sends successors to their owners
            // (one worker: inserts them at once)
            auto& outbox = outbox_;
            outbox.resize(W_);
            for (auto& ob : outbox) ob.resize(W_);
            levels_.push_back(std::vector<std::vector<Rec>>(W_));
            std::vector<std::vector<Stored>> next_frontier;
            if constexpr (Sys::kStoreStates) next_frontier.assign(W_, {});
            std::vector<uint64_t> fresh(W_, 0), attempts(W_, 0);
            const bool direct = W_ == 1;
            uint64_t before = st.states;
            std::vector<std::array<Best, 32>> cands(W_);
            std::vector<uint64_t> trans(W_, 0);
            // the watched invariants not violated yet: a system may judge only these
            InvMask open = 0;
            for (int inv = 0; inv < 32; ++inv)
                if (!known(inv) && (!o_.mask || (o_.mask >> inv & 1))) open |= InvMask{1} << inv;
            if constexpr (Sys::kStoreStates) {
                uint64_t fb = 0;
                for (const auto& f : frontier_) fb += f.capacity() * sizeof(State);
                frontier_now_ = fb;
            }
            auto expand_part = [&](int w) {
                const auto& recs = levels_[depth][w];
                std::vector<Out> batch;
                if (direct) {
                    // reserve for the next level: the last level's growth ratio, plus 1/8
                    batch.reserve(kBatch + 64);
                    size_t guess = static_cast<size_t>(double(recs.size()) * growth_ * 1.125) + 16;
                    levels_[depth + 1][0].reserve(guess);
                    if constexpr (Sys::kStoreStates) next_frontier[0].reserve(guess);
                }
                std::vector<uint32_t> path;
                uint64_t reported = 0;
                for (size_t i = 0; i < recs.size(); ++i) {
                    State s = [&] {
                        if constexpr (Sys::kStoreStates) {
                            return frontier_[w][i];
                        } else {
                            path_to(depth, w, i, path);
                            State r = sys_.root();
                            for (uint32_t op : path) sys_.apply(r, op);
                            return r;
                        }
                    }();
                    const uint32_t parent = static_cast<uint32_t>(i * W_ + w);
                    auto emit = [&](uint32_t op, Key&& key, State&& next, std::vector<Violation>& viol) {
                        ++trans[w];
                        for (auto& x : viol) {
                            if (known(x.inv)) continue;
                            auto& b = cands[w][x.inv];
                            if (!b.set || std::tie(parent, op) < std::tie(b.parent, b.op)) b = {true, parent, op, std::move(x.detail)};
                        }
                        if (direct) {
                            // batched over several expanded states: prefetch every slot, then insert
                            // (in emission order: the same result as inserting at once)
                            store.prefetch(0, key);
                            Out out{std::move(key), parent, op, {}};
                            if constexpr (Sys::kStoreStates) out.state = std::move(next);
                            batch.push_back(std::move(out));
                            return;
                        }
                        int owner = store.owner(key);
                        Out out{std::move(key), parent, op, {}};
                        if constexpr (Sys::kStoreStates) out.state = std::move(next);
                        outbox[w][owner].push_back(std::move(out));
                    };
                    if constexpr (requires { sys_.expand(s, emit, open); }) sys_.expand(s, emit, open);
                    else sys_.expand(s, emit);
                    if (batch.size() >= kBatch || i + 1 == recs.size()) {
                        for (auto& out : batch) {
                            ++attempts[0];
                            if (!store.insert(0, out.key)) continue;
                            levels_[depth + 1][0].push_back({out.parent, out.op});
                            if constexpr (Sys::kStoreStates) next_frontier[0].push_back(std::move(out.state));
                            ++fresh[0];
                        }
                        batch.clear();
                    }
                    if ((i & 63) == 63) prog.transitions.fetch_add(trans[w] - reported), reported = trans[w];
                }
            };
            parallel(expand_part);
            for (auto t : trans) st.transitions += t;
            prog.transitions = st.transitions;
            // candidates: the smallest (parent, op) per invariant, for determinism
            for (auto& cv : cands)
                for (int inv = 0; inv < 32; ++inv) {
                    const auto& c = cv[inv];
                    if (!c.set) continue;
                    auto& best = best_[inv];
                    if (!best.set || std::tie(c.parent, c.op) < std::tie(best.parent, best.op)) best = c;
                }
            for (int inv = 0; inv < 32; ++inv) {
                if (!best_[inv].set || known(inv)) continue;
                std::vector<uint32_t> path;
                path_to(depth, best_[inv].parent % W_, best_[inv].parent / W_, path);
                path.push_back(best_[inv].op);
                note_found(inv, std::move(path), best_[inv].detail);
            }
            // insertion: owner o dedups what was sent to it
            auto insert_part = [&](int o) {
                auto& recs = levels_[depth + 1][o];
                for (int w = 0; w < W_; ++w) {
                    for (auto& out : outbox[w][o]) {
                        ++attempts[o];
                        if (!store.insert(o, out.key)) continue;
                        recs.push_back({out.parent, out.op});
                        if constexpr (Sys::kStoreStates) next_frontier[o].push_back(std::move(out.state));
                        ++fresh[o];
                    }
                    outbox[w][o].clear();  // the capacity is reused by the next level
                }
            };
            if (!direct) parallel(insert_part);
            uint64_t added = 0, tried = 0;
            for (int w = 0; w < W_; ++w) added += fresh[w], tried += attempts[w];
            growth_ = std::max(1.0, double(added) / double(std::max<uint64_t>(1, frontier)));
            // the trace records stay for the whole search: no slack beyond 1/8 (one copy of the level)
            for (auto& v : levels_[depth + 1])
                if (v.capacity() > v.size() + v.size() / 8 + 64) v.shrink_to_fit();
            if (o_.store == StoreKind::Bitstate) {
                double p = store.false_positive(before + added / 2);
                omitted += double(added) * p / std::max(1e-12, 1.0 - p);
            }
            (void)tried;
            st.states += added;
            st.level_sizes.push_back(added);
            prog.states = st.states;
            if constexpr (Sys::kStoreStates) {
                uint64_t nb = 0;
                for (const auto& f : next_frontier) nb += f.capacity() * sizeof(State);
                frontier_peak_ = std::max(frontier_peak_, frontier_now_ + nb);
                frontier_ = std::move(next_frontier);
            }
            if (o_.max_states && st.states >= o_.max_states) {
                ++depth;
                truncated = true;
                break;
            }
            if (added == 0) { ++depth; break; }
        }
        uint64_t last = 0;
        for (const auto& v : levels_.back()) last += v.size();
        st.depth = 0;
        for (size_t l = 0; l < st.level_sizes.size(); ++l)
            if (st.level_sizes[l]) st.depth = static_cast<int>(l);
        st.exhausted = !truncated;
        st.closed = !truncated && last == 0;
        st.truncated = truncated;
        st.seconds = prog.elapsed();
        st.cpu_seconds = process_cpu_seconds() - cpu0;
        prog.stop();
        st.store_bytes = store.bytes();
        st.frontier_bytes = frontier_peak_;
        for (const auto& l : levels_)
            for (const auto& v : l) st.trace_bytes += v.capacity() * sizeof(Rec);
        st.store_bytes += st.trace_bytes;
        st.peak_rss = peak_rss_bytes();
        st.omission_estimate = omitted;
        if (o_.store == StoreKind::Fp64) st.collision_bound = double(st.states) * double(st.states) / std::ldexp(1.0, 65);
        std::vector<FoundViolation> out;
        for (auto& f : found_)
            if (f.inv >= 0) out.push_back(std::move(f));
        return out;
    }

private:
    struct Rec {
        uint32_t parent;  // index * W + worker in the previous level
        uint32_t op;
    };
    using Stored = std::conditional_t<Sys::kStoreStates, State, char>;
    struct Out {
        Key key;
        uint32_t parent;
        uint32_t op;
        Stored state;
    };
    struct Cand {
        int inv;
        uint32_t parent;
        uint32_t op;
        std::string detail;
    };
    struct Best {
        bool set = false;
        uint32_t parent = 0, op = 0;
        std::string detail;
    };

    template <class F>
    void parallel(F&& f) {
        if (W_ == 1) return f(0);
        std::vector<std::thread> th;
        for (int w = 1; w < W_; ++w) th.emplace_back([&, w] { f(w); });
        f(0);
        for (auto& t : th) t.join();
    }
    void path_to(int level, int w, size_t i, std::vector<uint32_t>& path) const {
        path.resize(level);
        for (int l = level; l > 0; --l) {
            const Rec& r = levels_[l][w][i];
            path[l - 1] = r.op;
            w = static_cast<int>(r.parent % W_);
            i = r.parent / W_;
        }
    }
    bool known(int inv) const { return found_[inv].inv >= 0; }
    void note_found(int inv, std::vector<uint32_t> path, std::string detail) {
        if (known(inv)) return;
        found_[inv] = {inv, std::move(path), std::move(detail)};
    }
    bool all_found() const {
        if (!o_.stop_when_all_found || !o_.mask) return false;
        for (int i = 0; i < 32; ++i)
            if ((o_.mask >> i & 1) && !known(i)) return false;
        return true;
    }

    const Sys& sys_;
    SearchOptions o_;
    int W_;
    std::vector<std::vector<std::vector<Rec>>> levels_;  // [level][worker] -> records
    std::vector<std::vector<std::vector<Out>>> outbox_;  // [from][to]
    std::vector<std::vector<Stored>> frontier_;
    std::vector<FoundViolation> found_;
    Best best_[32];
    uint64_t frontier_now_ = 0, frontier_peak_ = 0;
    double growth_ = 2.0;                 // the last level's size over the one before
    static constexpr size_t kBatch = 32;  // successors inserted together (their slots prefetched)
};

// ---------------------------------------------------------------- depth-first and random walks

// Depth-first to the depth bound. A state is expanded again when reached by a
// shorter path than before (so the bound is respected); counterexamples are not
// necessarily shortest.
template <class Sys>
std::vector<FoundViolation> dfs(const Sys& sys, const SearchOptions& o, SearchStats& st) {
    using State = typename Sys::State;
    using Key = typename Sys::Key;
    Progress prog(o.progress_secs, "dfs");
    absl::flat_hash_map<Key, uint8_t> seen;  // key -> smallest depth seen
    std::vector<FoundViolation> found(32);
    std::vector<uint32_t> path;
    auto note = [&](int inv, uint32_t op, std::string d) {
        if (found[inv].inv >= 0) return;
        found[inv] = {inv, path, std::move(d)};
        if (op != ~0u) found[inv].path.push_back(op);
    };
    State root = sys.root();
    {
        std::vector<Violation> v;
        sys.root_violations(root, v);
        for (auto& x : v) note(x.inv, ~0u, x.detail);
    }
    seen[sys.key(root)] = 0;
    std::function<void(const State&, int)> go = [&](const State& s, int d) {
        if (d >= o.depth) return;
        if (o.max_states && seen.size() >= o.max_states) return;
        struct Next {
            uint32_t op;
            State s;
        };
        std::vector<Next> todo;
        sys.expand(s, [&](uint32_t op, Key&& key, State&& next, std::vector<Violation>& viol) {
            ++st.transitions;
            for (auto& x : viol) note(x.inv, op, x.detail);
            auto [it, fresh] = seen.try_emplace(std::move(key), uint8_t(d + 1));
            if (!fresh) {
                if (it->second <= d + 1) return;
                it->second = uint8_t(d + 1);
            }
            if constexpr (Sys::kStoreStates) {
                todo.push_back({op, std::move(next)});
            } else {
                State again = s;
                sys.apply(again, op);
                todo.push_back({op, std::move(again)});
            }
        });
        prog.states = seen.size();
        prog.transitions = st.transitions;
        prog.depth = d + 1;
        for (auto& n : todo) {
            path.push_back(n.op);
            st.depth = std::max(st.depth, d + 1);
            go(n.s, d + 1);
            path.pop_back();
        }
    };
    go(root, 0);
    st.states = seen.size();
    st.seconds = prog.elapsed();
    st.exhausted = !(o.max_states && seen.size() >= o.max_states);
    st.peak_rss = peak_rss_bytes();
    std::vector<FoundViolation> out;
    for (auto& f : found)
        if (f.inv >= 0) out.push_back(std::move(f));
    return out;
}

// Random walks of o.depth steps from the root, each choosing a successor uniformly.
template <class Sys>
std::vector<FoundViolation> random_walks(const Sys& sys, const SearchOptions& o, SearchStats& st) {
    using State = typename Sys::State;
    using Key = typename Sys::Key;
    Progress prog(o.progress_secs, "walks");
    std::mt19937_64 rng(o.seed);
    std::vector<FoundViolation> found(32);
    absl::flat_hash_set<Key> seen;
    for (uint64_t w = 0; w < o.walks; ++w) {
        State s = sys.root();
        std::vector<uint32_t> path;
        for (int d = 0; d < o.depth; ++d) {
            std::vector<uint32_t> ops;
            std::vector<State> nexts;
            sys.expand(s, [&](uint32_t op, Key&& key, State&& next, std::vector<Violation>& viol) {
                ++st.transitions;
                for (auto& x : viol)
                    if (found[x.inv].inv < 0) {
                        found[x.inv] = {x.inv, path, x.detail};
                        found[x.inv].path.push_back(op);
                    }
                seen.insert(std::move(key));
                ops.push_back(op);
                if constexpr (Sys::kStoreStates) nexts.push_back(std::move(next));
            });
            if (ops.empty()) break;
            size_t pick = std::uniform_int_distribution<size_t>(0, ops.size() - 1)(rng);
            if constexpr (Sys::kStoreStates) s = std::move(nexts[pick]);
            else sys.apply(s, ops[pick]);
            path.push_back(ops[pick]);
            st.depth = std::max(st.depth, d + 1);
        }
        prog.states = seen.size();
        prog.transitions = st.transitions;
    }
    st.states = seen.size();
    st.seconds = prog.elapsed();
    st.peak_rss = peak_rss_bytes();
    std::vector<FoundViolation> out;
    for (auto& f : found)
        if (f.inv >= 0) out.push_back(std::move(f));
    return out;
}

}  // namespace pidlab::checker
