// bench_explore: the explorer's speed, honestly measured.
//
//  1. The benchmark configuration "autoreap siblings" (checker/packed.hpp) with
//     N created tasks, three ways: the packed successor function (one 64-bit word
//     per state, lossless store), the model explorer (model::Kernel copies,
//     64-bit fingerprints), and SPIN's exhaustive mode on
//     bench/spin/autoreap_siblings.pml. All three must report the same number of
//     distinct states; the benchmark prints states/s per core, bytes per state
//     and the speed ratio to SPIN.
//  2. With --standard: the time to exhaust the standard configurations of
//     `pidlab explore` (the default alphabet, --tasks 4 --depth 8, every profile).
//
// Usage: bench_explore [--n N] [--model-n N] [--spin-n N] [--standard] [--no-spin]
//                      [--threads W] [--pml FILE] [--store dense|hash] [--repeat R]
//
// The packed store (--store): `dense` (default) is a direct-addressed bit array over every
// possible state word (2^(4N) bits: one bit per possible state, the state is the index, so it
// is exact); `hash` is the absl hash set of the state words (exact too). With --repeat R every
// measured run (packed, SPIN) is made R times and the median rate is reported.
#include <fmt/core.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include <sys/resource.h>
#include <unistd.h>

#include "checker/explore.hpp"
#include "checker/packed.hpp"

using namespace pidlab;
using namespace pidlab::checker;

namespace {

struct Run {
    uint64_t states = 0, transitions = 0;
    double seconds = 0, cpu = 0, bytes_per_state = 0;
    double store_bps = 0, trace_bps = 0, frontier_bps = 0;  // the parts of bytes_per_state (packed)
    std::vector<uint64_t> levels;
    std::vector<std::string> violated;
};

StoreKind g_store = StoreKind::Dense;

Run run_packed(int n, int threads) {
    packed::System sys;
    sys.n = n;
    sys.mask = all_invariants();
    SearchOptions o;
    o.store = g_store;
    o.dense_bits = sys.key_bits();
    o.depth = 64;
    o.threads = threads;
    o.progress_secs = 0;
    o.stop_when_all_found = false;
    SearchStats st;
    Bfs<packed::System> bfs(sys, o);
    auto found = bfs.run(st);
    Run r;
    r.states = st.states;
    r.transitions = st.transitions;
    r.seconds = st.seconds;
    r.cpu = st.cpu_seconds;
    // lossless bytes per state: the whole store allocation (dense bit array, or every slot of
    // the hash set: its load factor included), the trace records (capacity), and the peak of the
    // stored frontier (two levels of state words)
    const uint64_t trace = st.trace_bytes;  // SearchStats::store_bytes includes the trace records
    r.bytes_per_state = double(st.store_bytes + st.frontier_bytes) / double(st.states);
    r.frontier_bps = double(st.frontier_bytes) / double(st.states);
    r.store_bps = double(st.store_bytes - trace) / double(st.states);
    r.trace_bps = double(trace) / double(st.states);
    r.levels = st.level_sizes;
    for (const auto& f : found) r.violated.push_back(fmt::format("{} ({} steps)", invariants()[f.inv].name, f.path.size()));
    return r;
}

Run run_model(int n, int threads) {
    ExploreConfig c;
    c.profile = *model::find_profile(packed::kProfile);
    std::string err;
    parse_alphabet(packed::kAlphabet, c.alphabet, err);
    c.bounds.tasks = n + 1;
    c.bounds.depth = 64;
    c.symmetry = false;
    c.mask = all_invariants();
    c.search.depth = 64;
    c.search.threads = threads;
    c.search.progress_secs = 0;
    c.search.stop_when_all_found = false;
    auto res = explore(c);
    Run r;
    r.states = res.stats.states;
    r.transitions = res.stats.transitions;
    r.seconds = res.stats.seconds;
    r.cpu = res.stats.cpu_seconds;
    r.bytes_per_state = double(res.stats.store_bytes) / double(res.stats.states);
    r.levels = res.stats.level_sizes;
    for (const auto& cx : res.counterexamples) r.violated.push_back(fmt::format("{} ({} steps)", cx.invariant, cx.ops.size()));
    return r;
}

std::string sh(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, k);
    pclose(p);
    return out;
}

struct SpinRun {
    bool ok = false;
    uint64_t states = 0;
    double seconds = 0;       // pan's own elapsed time (exploration only)
    double cpu = 0;           // pan's CPU time (user + system)
    double state_vector = 0;  // bytes
    double memory_mb = 0;
    std::string error;
};

SpinRun run_spin(int n, const std::string& pml) {
    SpinRun r;
    if (sh("command -v spin").empty()) {
        r.error = "spin is not installed";
        return r;
    }
    auto dir = std::filesystem::temp_directory_path() / fmt::format("pidlab-spin-{}-{}", getpid(), n);
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(pml, dir / "model.pml", std::filesystem::copy_options::overwrite_existing);
    std::string d = dir.string();
    std::string build = sh(fmt::format("cd {} && spin -DN={} -a model.pml 2>&1 && gcc -O2 -DSAFETY -DNOREDUCE -DNOCLAIM "
                                       "-DMEMLIM=16000 -o pan pan.c 2>&1",
                                       d, n));
    if (!std::filesystem::exists(dir / "pan")) {
        r.error = "could not build pan: " + build;
        return r;
    }
    rusage before{}, after{};
    getrusage(RUSAGE_CHILDREN, &before);
    std::string out = sh(fmt::format("cd {} && ./pan -m100000 2>&1", d));
    getrusage(RUSAGE_CHILDREN, &after);
    auto tv = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
    r.cpu = tv(after.ru_utime) - tv(before.ru_utime) + tv(after.ru_stime) - tv(before.ru_stime);
    std::smatch m;
    if (std::regex_search(out, m, std::regex(R"((\d+) states, stored)"))) r.states = std::stoull(m[1]);
    if (std::regex_search(out, m, std::regex(R"(pan: elapsed time ([0-9.e+-]+) seconds)"))) r.seconds = std::stod(m[1]);
    if (std::regex_search(out, m, std::regex(R"(State-vector (\d+) byte)"))) r.state_vector = std::stod(m[1]);
    if (std::regex_search(out, m, std::regex(R"(([0-9.]+)\s+total actual memory usage)"))) r.memory_mb = std::stod(m[1]);
    r.ok = r.states > 0 && out.find("errors: 0") != std::string::npos;
    if (!r.ok) r.error = out;
    std::filesystem::remove_all(dir);
    return r;
}

std::string levels(const std::vector<uint64_t>& v) {
    std::string s;
    for (auto x : v) s += (s.empty() ? "" : " ") + std::to_string(x);
    return s;
}

std::string find_pml(const std::string& given) {
    if (!given.empty()) return given;
    for (std::string p : {std::string(PIDLAB_SOURCE_DIR) + "/bench/spin/autoreap_siblings.pml",
                          std::string("bench/spin/autoreap_siblings.pml")})
        if (std::filesystem::exists(p)) return p;
    return "";
}

}  // namespace

int main(int argc, char** argv) {
    int n = 8, model_n = 5, spin_n = -1, threads = std::max(1u, std::thread::hardware_concurrency());
    bool standard = false, no_spin = false;
    int repeat = 1;
    std::string pml;
    for (int i = 1; i < argc; ++i) try {
        std::string a = argv[i];
        auto val = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
        if (a == "--n") n = std::stoi(val());
        else if (a == "--model-n") model_n = std::stoi(val());
        else if (a == "--spin-n") spin_n = std::stoi(val());
        else if (a == "--threads") threads = std::stoi(val());
        else if (a == "--standard") standard = true;
        else if (a == "--no-spin") no_spin = true;
        else if (a == "--pml") pml = val();
        else if (a == "--repeat") repeat = std::max(1, std::stoi(val()));
        else if (a == "--store") {
            std::string v = val();
            if (v == "dense") g_store = StoreKind::Dense;
            else if (v == "hash") g_store = StoreKind::Fp64;
            else {
                std::fprintf(stderr, "bench_explore: --store must be dense or hash\n");
                return 2;
            }
        }
        else {
            std::fprintf(stderr, "usage: bench_explore [--n N] [--model-n N] [--spin-n N] [--threads W] [--standard] "
                                 "[--no-spin] [--pml FILE] [--store dense|hash] [--repeat R]\n");
            return 2;
        }
    } catch (const std::exception&) {
        std::fprintf(stderr, "bench_explore: %s needs a number\n", argv[i - 1]);
        return 2;
    }
    if (spin_n < 0) spin_n = n;
    if (n < 1 || n > 8 || spin_n > 8) {
        std::fprintf(stderr, "bench_explore: N must be between 1 and 8 (the Promela model has 8 slots)\n");
        return 2;
    }
    std::string cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2");
    while (!cpu.empty() && (cpu.back() == '\n' || cpu.front() == ' ')) cpu.back() == '\n' ? cpu.pop_back() : (void)cpu.erase(0, 1);
    fmt::print("machine: {} ({} cores), load average {}", cpu, std::thread::hardware_concurrency(),
               sh("cut -d' ' -f1-3 /proc/loadavg"));
    fmt::print("configuration \"autoreap siblings\" (checker/packed.hpp): profile {}, T + N created tasks\n\n",
               packed::kProfile);

    int rc = 0;
    auto rate = [](const Run& r) { return r.states / std::max(r.cpu, 1e-9); };
    // R runs; returns the run with the median per-core rate, and prints every rate
    auto median_of = [&](int nn, int th, const char* what) {
        std::vector<Run> runs;
        for (int i = 0; i < repeat; ++i) runs.push_back(run_packed(nn, th));
        for (const auto& r : runs)
            if (r.states != runs.front().states) {
                fmt::print("  MISMATCH between runs: {} vs {} states\n", r.states, runs.front().states);
                rc = 1;
            }
        std::vector<Run> sorted = runs;
        std::sort(sorted.begin(), sorted.end(), [&](const Run& a, const Run& b) { return rate(a) < rate(b); });
        if (repeat > 1) {
            std::vector<std::string> rs;
            for (const auto& r : runs) rs.push_back(fmt::format("{:.0f}", rate(r)));
            std::string load = sh("cut -d' ' -f1-3 /proc/loadavg");
            while (!load.empty() && load.back() == '\n') load.pop_back();
            fmt::print("  {}: per-core rates of {} runs: {} states/s; median below (load average now {})\n", what, repeat,
                       fmt::join(rs, ", "), load);
        }
        return sorted[sorted.size() / 2];
    };
    const char* store_name = g_store == StoreKind::Dense ? "dense bit array over all 2^(4N) state words" : "absl hash set of state words";
    // ---- packed, one worker and all workers
    Run p1 = median_of(n, 1, "1 worker");
    Run pw = threads > 1 ? median_of(n, threads, "all workers") : p1;
    fmt::print("packed   N={}: {} distinct states, {} transitions, closed at depth {}; store: {}\n", n, p1.states,
               p1.transitions, p1.levels.size() - 1, store_name);
    fmt::print("  1 worker : {:.3f} s wall, {:.3f} s CPU: {:.0f} states/s per core (CPU time), {:.0f} states/s wall\n",
               p1.seconds, p1.cpu, rate(p1), p1.states / p1.seconds);
    fmt::print("  lossless bytes/state: {:.1f} = store {:.1f} + trace records {:.1f} + peak frontier {:.1f}\n",
               p1.bytes_per_state, p1.store_bps, p1.trace_bps, p1.frontier_bps);
    if (threads > 1)
        fmt::print("  {} workers: {:.3f} s wall, {:.3f} s CPU: {:.0f} states/s wall, {:.0f} states/s per core (CPU time)\n",
                   threads, pw.seconds, pw.cpu, pw.states / pw.seconds, rate(pw));
    fmt::print("  violated: {}\n", p1.violated.empty() ? std::string("none") : fmt::format("{}", fmt::join(p1.violated, ", ")));
    if (pw.states != p1.states || pw.levels != p1.levels || pw.violated != p1.violated) {
        fmt::print("  MISMATCH: {} workers found {} states\n", threads, pw.states);
        rc = 1;
    }

    // ---- the model explorer on the same configuration (smaller N: it is slower)
    if (model_n > 0) {
        Run pm = run_packed(model_n, 1);
        Run m = run_model(model_n, 1);
        fmt::print("\nmodel    N={}: {} distinct states in {:.2f} s ({:.2f} s CPU), {:.0f} states/s per core, {:.1f} "
                   "bytes/state (64-bit fingerprints + trace records)\n",
                   model_n, m.states, m.seconds, m.cpu, m.states / m.cpu, m.bytes_per_state);
        bool same = m.states == pm.states && m.levels == pm.levels && m.violated == pm.violated;
        fmt::print("  packed N={}: {} states, per depth [{}] vs model [{}]: {}\n", model_n, pm.states, levels(pm.levels),
                   levels(m.levels), same ? "AGREE" : "DISAGREE");
        fmt::print("  packed/model speed (per core, CPU time): {:.0f}x\n", (pm.states / pm.cpu) / (m.states / m.cpu));
        if (!same) rc = 1;
    }

    // ---- SPIN
    if (!no_spin) {
        std::string file = find_pml(pml);
        std::vector<SpinRun> runs;
        for (int i = 0; i < (file.empty() ? 1 : repeat); ++i) {
            runs.push_back(file.empty() ? SpinRun{false, 0, 0, 0, 0, 0, "bench/spin/autoreap_siblings.pml not found"}
                                        : run_spin(spin_n, file));
            if (!runs.back().ok) break;
        }
        if (!runs.back().ok) {
            fmt::print("\nspin: {}\n", runs.back().error.substr(0, 400));
        } else {
            auto srate = [](const SpinRun& r) { return r.states / std::max(r.cpu, 1e-6); };
            std::vector<SpinRun> sorted = runs;
            std::sort(sorted.begin(), sorted.end(), [&](const SpinRun& a, const SpinRun& b) { return srate(a) < srate(b); });
            const SpinRun& s = sorted[sorted.size() / 2];
            if (repeat > 1) {
                std::vector<std::string> rs;
                for (const auto& r : runs) rs.push_back(fmt::format("{:.0f}", srate(r)));
                fmt::print("\nspin: per-core rates of {} runs: {} states/s; median below\n", repeat, fmt::join(rs, ", "));
            }
            Run ps = spin_n == n ? p1 : run_packed(spin_n, 1);
            Run psw = spin_n == n ? pw : (threads > 1 ? run_packed(spin_n, threads) : ps);
            fmt::print("spin     N={}: {} states stored in {:.3f} s (pan's timer), {:.3f} s CPU: {:.0f} states/s per core "
                       "(CPU time); state vector {:.0f} bytes, {:.1f} MB ({:.1f} B/state)\n",
                       spin_n, s.states, s.seconds, s.cpu, srate(s), s.state_vector, s.memory_mb,
                       s.memory_mb * 1048576.0 / std::max<uint64_t>(1, s.states));
            fmt::print("  packed N={}: {} states: {}\n", spin_n, ps.states, s.states == ps.states ? "AGREE" : "DISAGREE");
            if (s.states != ps.states) rc = 1;
            fmt::print("  speed ratio packed/spin: {:.1f}x per core (CPU time, 1 worker vs pan, medians), {:.1f}x wall clock "
                       "({} workers vs pan's timer)\n",
                       rate(ps) / srate(s), s.seconds / psw.seconds, threads);
            if (s.seconds < 0.5)
                fmt::print("  (pan ran for under half a second: its timer resolution makes the ratio rough; use --n 8)\n");
        }
    }

    // ---- standard configurations of pidlab explore
    if (standard) {
        fmt::print("\nstandard configurations (pidlab explore, default alphabet, --tasks 4 --depth 8, {} workers):\n", threads);
        for (const char* k : {"7.1", "7.1-no-parent-check", "rfc-v1", "v2", "v3", "v4", "v5"}) {
            ExploreConfig c;
            c.profile = *model::find_profile(k);
            std::string err;
            parse_alphabet("default", c.alphabet, err);
            c.bounds.tasks = 4;
            c.bounds.depth = 8;
            c.mask = all_invariants();
            c.search.depth = 8;
            c.search.threads = threads;
            c.search.progress_secs = 0;
            auto t0 = std::chrono::steady_clock::now();
            auto res = explore(c);
            double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            std::vector<std::string> v;
            for (const auto& cx : res.counterexamples) v.push_back(fmt::format("{}/{}", cx.invariant, cx.ops.size()));
            fmt::print("  {:<20} {:>9} states {:>10} transitions {:>7.1f} s {:>8.0f} states/s {:>5.1f} B/state  {}{}\n", k,
                       res.stats.states, res.stats.transitions, secs, res.stats.states / secs,
                       double(res.stats.store_bytes) / res.stats.states, v.empty() ? "no violation" : fmt::format("{}", fmt::join(v, " ")),
                       res.stats.truncated ? " (stopped: every invariant violated)" : "");
        }
    }
    return rc;
}
