// bench_replay: how fast the model replays scenarios, single-threaded (= per core).
//
//   (a) replay only: scenarios loaded once, replayed over and over -> steps/s, scenarios/s
//   (b) parse + replay: parse_scenario from the in-memory text, then replay -> scenarios/s
//   (c) parse only: parse_scenario -> MB/s, scenarios/s
//   (j) for reference, the JSON library alone on the same texts: nlohmann::json::parse
//       (the DOM, no scenario checks) and nlohmann::json::sax_parse with a handler that
//       keeps nothing (lexing only) -> MB/s
//
// The corpus is scenarios/**/*.json (or the paths given), each replayed on its
// own kernel; without a corpus, a few built-in scenarios. Each measurement runs
// whole passes over the corpus for at least --seconds, --trials times; the
// median trial is reported.
//
//   bench_replay [--seconds S] [--trials N] [--markdown] [--only a|b|c|j] [PATH...]
//
// --only runs one measurement (for profiling under valgrind --tool=callgrind).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "format/scenario.hpp"
#include "model/profile.hpp"
#include "model/replay.hpp"

#ifndef PIDLAB_SOURCE_DIR
#define PIDLAB_SOURCE_DIR "."
#endif
#ifndef PIDLAB_BUILD_TYPE
#define PIDLAB_BUILD_TYPE "?"
#endif

namespace sc = pidlab::scenario;
namespace model = pidlab::model;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const char* const kBuiltin[] = {
    R"({"name": "fork_wait", "kernel": "7.1", "steps": [
      {"task": "T", "op": "fork", "child": "C", "expect": {"ret": "ok"}},
      {"task": "C", "op": "exit_group", "code": 3},
      {"task": "T", "op": "signal_pending", "sig": "SIGCHLD", "expect": {"pending": true}},
      {"task": "T", "op": "waitpid", "target": "C", "options": ["WNOHANG"], "expect": {"pid": "C", "status": {"exited": 3}}}],
     "final": {"C": {"state": "reaped"}}})",
    R"({"name": "autoreap", "kernel": "7.1", "steps": [
      {"task": "T", "op": "clone3", "flags": ["CLONE_PIDFD", "CLONE_AUTOREAP"], "exit_signal": 0, "child": "C", "pidfd": "c"},
      {"task": "C", "op": "thread_create", "child": "C2"},
      {"task": "C", "op": "exit_group", "code": 42},
      {"task": "T", "op": "poll", "fd": "c", "expect": {"revents": ["POLLIN"]}},
      {"task": "T", "op": "pidfd_get_info", "fd": "c", "expect": {"exit": {"exited": 42}}},
      {"task": "T", "op": "waitpid", "target": "C", "options": ["WNOHANG"], "expect": {"errno": "ECHILD"}}],
     "final": {"C": {"state": "reaped"}}})",
    R"({"name": "reparent", "kernel": "7.1", "steps": [
      {"task": "T", "op": "prctl", "option": "PR_SET_CHILD_SUBREAPER", "value": 1},
      {"task": "T", "op": "fork", "child": "P"},
      {"task": "P", "op": "fork", "child": "C"},
      {"task": "P", "op": "fork", "child": "D"},
      {"task": "P", "op": "exit_group", "code": 0},
      {"task": "T", "op": "observe", "target": "C", "expect": {"parent": "T"}},
      {"task": "C", "op": "exit", "code": 1},
      {"task": "D", "op": "exit", "code": 2},
      {"task": "T", "op": "waitpid", "target": -1, "options": ["WNOHANG"], "expect": {"ret": "ok"}},
      {"task": "T", "op": "waitpid", "target": -1, "options": ["WNOHANG"], "expect": {"ret": "ok"}},
      {"task": "T", "op": "waitpid", "target": -1, "options": ["WNOHANG"], "expect": {"ret": "ok"}}]})",
};

struct Item {
    std::string file, text;
    sc::Scenario scenario;
    model::Profile profile;
    size_t steps = 0;  // steps a replay runs (fewer than the file's when it stops at an error)
};

std::string slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            auto c = line.find(':');
            return c == std::string::npos ? line : line.substr(c + 2);
        }
    return "unknown CPU";
}

struct Trial {
    double seconds = 0;
    size_t passes = 0;
};

// Runs `pass` (one pass over the corpus) until `seconds` have elapsed.
Trial time_passes(double seconds, const std::function<void()>& pass) {
    pass();  // warm-up
    Trial t;
    auto start = Clock::now();
    do {
        pass();
        ++t.passes;
        t.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    } while (t.seconds < seconds);
    return t;
}

// The trial with the median rate.
Trial median(std::vector<Trial> ts) {
    std::sort(ts.begin(), ts.end(), [](const Trial& a, const Trial& b) { return a.passes / a.seconds < b.passes / b.seconds; });
    return ts[ts.size() / 2];
}

std::string group(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    std::string s = buf, out;
    int n = 0;
    for (auto it = s.rbegin(); it != s.rend(); ++it) {
        if (n && n % 3 == 0 && *it != '-') out.insert(out.begin(), ',');
        out.insert(out.begin(), *it);
        ++n;
    }
    return out;
}

volatile size_t g_sink;  // keeps the results alive

// A SAX handler that keeps nothing: what lexing alone costs.
struct NullSax : nlohmann::json_sax<nlohmann::json> {
    size_t events = 0;
    bool null() override { return ++events; }
    bool boolean(bool) override { return ++events; }
    bool number_integer(number_integer_t) override { return ++events; }
    bool number_unsigned(number_unsigned_t) override { return ++events; }
    bool number_float(number_float_t, const string_t&) override { return ++events; }
    bool string(string_t&) override { return ++events; }
    bool binary(binary_t&) override { return ++events; }
    bool start_object(std::size_t) override { return ++events; }
    bool key(string_t&) override { return ++events; }
    bool end_object() override { return ++events; }
    bool start_array(std::size_t) override { return ++events; }
    bool end_array() override { return ++events; }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
};

}  // namespace

int main(int argc, char** argv) {
    double seconds = 1.0;
    int trials = 3;
    bool markdown = false;
    std::string only = "abcj";
    std::vector<std::string> paths;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--markdown") markdown = true;
        else if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
        else if (a == "--trials" && i + 1 < argc) trials = std::max(1, std::atoi(argv[++i]));
        else if (a == "--only" && i + 1 < argc) only = argv[++i];
        else if (a == "-h" || a == "--help") {
            std::printf("usage: bench_replay [--seconds S] [--trials N] [--markdown] [--only a|b|c|j] [PATH...]\n");
            return 0;
        } else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "bench_replay: unknown option %s\n", a.c_str());
            return 2;
        } else paths.push_back(a);
    }
    std::string source;
    if (paths.empty() && fs::is_directory(fs::path(PIDLAB_SOURCE_DIR) / "scenarios")) {
        paths.push_back((fs::path(PIDLAB_SOURCE_DIR) / "scenarios").string());
        source = "scenarios/";
    }

    // ---- the corpus
    std::vector<Item> items;
    size_t skipped = 0;
    auto add = [&](const std::string& file, const std::string& text) {
        Item it;
        it.file = file;
        it.text = text;
        try {
            it.scenario = sc::parse_scenario(text, file);
        } catch (const sc::FormatError& e) {
            std::fprintf(stderr, "bench_replay: skipping %s\n", e.what());
            ++skipped;
            return;
        }
        auto p = model::find_profile(it.scenario.kernel.empty() ? "7.1" : it.scenario.kernel);
        if (!p) {
            ++skipped;
            return;
        }
        it.profile = *p;
        it.steps = model::replay(it.scenario, it.profile).steps.size();
        items.push_back(std::move(it));
    };
    try {
        for (const auto& f : sc::collect_scenario_files(paths)) add(f, slurp(f));
    } catch (const sc::FormatError& e) {
        std::fprintf(stderr, "bench_replay: %s\n", e.what());
        return 2;
    }
    if (items.empty()) {
        source = "built-in samples";
        for (const char* t : kBuiltin) add("builtin.json", t);
    } else if (source.empty()) {
        source = std::to_string(paths.size()) + " path(s)";
    }
    size_t total_steps = 0, total_bytes = 0;
    for (const auto& it : items) total_steps += it.steps, total_bytes += it.text.size();

    // ---- (a) replay only
    std::vector<Trial> ta, tb, tc;
    auto wanted = [&](char m) { return only.find(m) != std::string::npos; };
    for (int t = 0; t < trials && wanted('a'); ++t)
        ta.push_back(time_passes(seconds, [&] {
            size_t n = 0;
            for (const auto& it : items) n += model::replay(it.scenario, it.profile).steps.size();
            g_sink = g_sink + n;
        }));
    // ---- (b) parse + replay
    for (int t = 0; t < trials && wanted('b'); ++t)
        tb.push_back(time_passes(seconds, [&] {
            size_t n = 0;
            for (const auto& it : items) {
                auto s = sc::parse_scenario(it.text, it.file);
                n += model::replay(s, it.profile).steps.size();
            }
            g_sink = g_sink + n;
        }));
    // ---- (c) parse only
    for (int t = 0; t < trials && wanted('c'); ++t)
        tc.push_back(time_passes(seconds, [&] {
            size_t n = 0;
            for (const auto& it : items) n += sc::parse_scenario(it.text, it.file).steps.size();
            g_sink = g_sink + n;
        }));

    // ---- (j) the JSON library alone
    std::vector<Trial> tj, ts;
    for (int t = 0; t < trials && wanted('j'); ++t)
        tj.push_back(time_passes(seconds, [&] {
            size_t n = 0;
            for (const auto& it : items) n += nlohmann::json::parse(it.text).size();
            g_sink = g_sink + n;
        }));
    for (int t = 0; t < trials && wanted('j'); ++t)
        ts.push_back(time_passes(seconds, [&] {
            NullSax h;
            for (const auto& it : items) nlohmann::json::sax_parse(it.text, &h);
            g_sink = g_sink + h.events;
        }));

    for (auto* v : {&ta, &tb, &tc, &tj, &ts})
        if (v->empty()) v->push_back({1.0, 0});  // not measured: shows as 0
    auto a = median(ta), b = median(tb), c = median(tc), j = median(tj), x = median(ts);
    double a_steps = total_steps * a.passes / a.seconds, a_scen = items.size() * a.passes / a.seconds;
    double b_scen = items.size() * b.passes / b.seconds, b_steps = total_steps * b.passes / b.seconds;
    double c_mb = total_bytes * c.passes / c.seconds / 1e6, c_scen = items.size() * c.passes / c.seconds;
    double j_mb = total_bytes * j.passes / j.seconds / 1e6, x_mb = total_bytes * x.passes / x.seconds / 1e6;
    auto mb = [](double v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f", v);
        return std::string(buf);
    };

    struct Row {
        std::string what, value, target, verdict;
    };
    auto verdict = [](double v, double target) { return v >= target ? std::string("ok") : std::string("BELOW"); };
    std::vector<Row> rows = {
        {"(a) replay, pre-parsed: steps/s", group(a_steps), ">= 1,000,000", verdict(a_steps, 1e6)},
        {"(a) replay, pre-parsed: scenarios/s", group(a_scen), "", ""},
        {"(a) replay, pre-parsed: us/scenario", mb(1e6 / a_scen), "", ""},
        {"(b) parse + replay: scenarios/s", group(b_scen), ">= 50,000", verdict(b_scen, 5e4)},
        {"(b) parse + replay: steps/s", group(b_steps), "", ""},
        {"(c) parse only: MB/s", mb(c_mb), "", ""},
        {"(c) parse only: scenarios/s", group(c_scen), "", ""},
        {"(j) nlohmann::json::parse alone: MB/s", mb(j_mb), "", ""},
        {"(j) nlohmann sax_parse, no DOM: MB/s", mb(x_mb), "", ""},
    };

    unsigned ncpu = std::thread::hardware_concurrency();
    std::printf("bench_replay: %zu scenarios from %s (%zu steps, %.1f KiB%s), each on its own kernel\n", items.size(),
                source.c_str(), total_steps, total_bytes / 1024.0,
                skipped ? (", " + std::to_string(skipped) + " skipped").c_str() : "");
    std::printf("machine: %u CPUs, %s; build %s; single thread (= per core); median of %d trials of >= %.1f s\n",
                ncpu, cpu_model().c_str(), PIDLAB_BUILD_TYPE, trials, seconds);
    if (markdown) {
        std::printf("\n| measurement (per core) | value | target | |\n|---|---:|---:|---|\n");
        for (const auto& r : rows)
            std::printf("| %s | %s | %s | %s |\n", r.what.c_str(), r.value.c_str(), r.target.c_str(), r.verdict.c_str());
    } else {
        std::printf("\n%-38s %14s %14s\n", "measurement (per core)", "value", "target");
        for (const auto& r : rows)
            std::printf("%-38s %14s %14s %s\n", r.what.c_str(), r.value.c_str(), r.target.c_str(), r.verdict.c_str());
    }
    return 0;
}
