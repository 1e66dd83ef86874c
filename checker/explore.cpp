#include "checker/explore.hpp"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/graphviz.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <nlohmann/json.hpp>

#include "format/names.hpp"
#include "model/replay.hpp"

namespace pidlab::checker {

using model::ExitState;
using model::Kernel;
using model::TaskId;

uint64_t KeyTraits<std::string>::hash(const std::string& k) { return XXH3_64bits(k.data(), k.size()); }

uint64_t current_rss_bytes() {
    std::ifstream f("/proc/self/statm");
    uint64_t size = 0, rss = 0;
    f >> size >> rss;
    return rss * 4096;
}

uint64_t peak_rss_bytes() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
    return current_rss_bytes();
}

namespace {

template <bool Exact>
struct ModelSystem {
    using State = MState;
    using Key = std::conditional_t<Exact, std::string, uint64_t>;
    static constexpr bool kStoreStates = false;

    const ExploreConfig& c;
    CanonOptions canon;

    explicit ModelSystem(const ExploreConfig& cfg) : c(cfg) {
        canon.symmetry = cfg.symmetry;
        canon.pending = cfg.alphabet.has("signal_pending");
    }
    State root() const { return root_state(c); }
    Key key(const State& s) const {
        thread_local std::string scratch;
        encode_state(s.k, s.aux, canon, scratch);
        if constexpr (Exact) return scratch;
        else return fingerprint(scratch);
    }
    void root_violations(const State& s, std::vector<Violation>& v) const { check_state(s.k, s.aux, c.mask, v); }
    template <class Emit>
    void expand(const State& s, Emit&& emit) const {
        thread_local std::vector<Op> ops;
        thread_local std::vector<Violation> v;
        enabled_ops(s.k, c.alphabet, c.bounds, ops);
        const std::vector<Op> mine = ops;  // emit may recurse (DFS)
        for (const Op& op : mine) {
            State n = s;
            n.k.events.clear();
            apply_op(n.k, n.aux, c.alphabet, op, !c.bounds.interleave);
            v.clear();
            TransitionView tv{s.k, s.aux, n.k, n.aux, 0, op.internal() ? model::kNoTask : TaskId(op.actor)};
            check_step(tv, c.mask, v);
            Key k = key(n);
            std::vector<Violation> mv = v;
            emit(op.pack(), std::move(k), std::move(n), mv);
        }
    }
    void apply(State& s, uint32_t op) const {
        s.k.events.clear();
        apply_op(s.k, s.aux, c.alphabet, Op::unpack(op), !c.bounds.interleave);
    }
};

template <class Sys>
std::vector<FoundViolation> run_search(const Sys& sys, const ExploreConfig& c, SearchStats& st) {
    switch (c.mode) {
        case SearchMode::Bfs: {
            Bfs<Sys> b(sys, c.search);
            return b.run(st);
        }
        case SearchMode::Dfs: return dfs(sys, c.search, st);
        case SearchMode::Random: return random_walks(sys, c.search, st);
    }
    return {};
}

std::string esc(const std::string& s) {
    std::string o;
    for (char ch : s) {
        if (ch == '"') o += "\\\"";
        else o += ch;
    }
    return o;
}

}  // namespace

MState root_state(const ExploreConfig& c) { return MState{Kernel(c.profile, c.root), {}}; }

ExploreResult explore(const ExploreConfig& c) {
    ExploreResult res;
    SearchOptions so = c.search;
    so.mask = c.mask;
    ExploreConfig cc = c;
    cc.search = so;
    std::vector<FoundViolation> found;
    if (c.search.store == StoreKind::Exact) found = run_search(ModelSystem<true>(cc), cc, res.stats);
    else found = run_search(ModelSystem<false>(cc), cc, res.stats);
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.inv < b.inv; });
    for (const auto& f : found) res.counterexamples.push_back(make_counterexample(cc, f.inv, f.path, f.detail));
    return res;
}

std::string tree_dot(const Kernel& k, const Namer& names, const std::string& title) {
    struct VP {
        std::string label, style, shape;
    };
    struct EP {
        std::string label, style;
    };
    using G = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, VP, EP>;
    G g;
    std::map<TaskId, G::vertex_descriptor> v;
    for (TaskId t = 0; t < static_cast<TaskId>(k.tasks().size()); ++t) {
        const auto& task = k.task(t);
        if (task.exit_state == ExitState::Released) continue;
        const auto& sig = k.signal_of(t);
        std::string label = names.task(t) + "\\n";
        switch (task.exit_state) {
            case ExitState::Running: label += task.pf_exiting || task.exit_requested ? "exiting" : "running"; break;
            case ExitState::Zombie: label += "zombie"; break;
            case ExitState::Trace: label += "zombie (trace)"; break;
            case ExitState::Dead: label += "dead"; break;
            default: break;
        }
        label += "\\nexit_signal=" + names::signal_name(task.exit_signal);
        if (sig.autoreap) label += "\\nautoreap";
        if (task.no_new_privs) label += "\\nnnp";
        if (sig.is_child_subreaper) label += "\\nsubreaper";
        if (task.cred.uid != 0 || task.cred.euid != 0) label += "\\nuid=" + std::to_string(task.cred.uid) + " euid=" + std::to_string(task.cred.euid);
        if (!k.thread_group_leader(t)) label += "\\nthread of " + names.task(task.leader);
        v[t] = boost::add_vertex({label, task.exit_state == ExitState::Running ? "solid" : "dashed",
                                  k.thread_group_leader(t) ? "box" : "ellipse"},
                                 g);
    }
    for (auto [t, vd] : v) {
        const auto& task = k.task(t);
        if (task.real_parent != model::kNoTask && k.thread_group_leader(t)) {
            TaskId p = k.task(task.real_parent).leader;
            if (v.count(p)) boost::add_edge(v[p], vd, {"child", "solid"}, g);
        }
        if (!k.thread_group_leader(t) && v.count(task.leader)) boost::add_edge(v[task.leader], vd, {"thread", "dotted"}, g);
        if (task.ptraced && task.parent != model::kNoTask && v.count(task.parent))
            boost::add_edge(v[task.parent], vd, {"traces", "dashed"}, g);
    }
    // pidfds: table holder -> target
    for (TaskId t = 0; t < static_cast<TaskId>(k.tasks().size()); ++t) {
        if (!v.count(t) || !k.table_of(t) || !k.thread_group_leader(t)) continue;
        for (const auto& e : k.table_of(t)->entries) {
            const auto& f = k.file(e.file);
            if (!v.count(f.pid)) continue;
            boost::add_edge(v[t], v[f.pid], {std::string("pidfd") + (f.autokill || f.clone3 ? " (clone3)" : ""), "dashed"}, g);
        }
    }
    std::ostringstream os;
    boost::dynamic_properties dp;
    dp.property("node_id", boost::get(boost::vertex_index, g));
    dp.property("label", boost::get(&VP::label, g));
    dp.property("style", boost::get(&VP::style, g));
    dp.property("shape", boost::get(&VP::shape, g));
    dp.property("label", boost::get(&EP::label, g));
    dp.property("style", boost::get(&EP::style, g));
    boost::write_graphviz_dp(os, g, dp);
    std::string out = os.str();
    // a title for the picture
    auto brace = out.find('{');
    if (brace != std::string::npos) out.insert(brace + 1, "\nlabel=\"" + esc(title) + "\";\nlabelloc=t;\n");
    return out;
}

Counterexample make_counterexample(const ExploreConfig& c, int inv, const std::vector<uint32_t>& path,
                                   const std::string& detail) {
    Counterexample cx;
    cx.inv = inv;
    cx.invariant = invariants()[inv].name;
    cx.detail = detail;
    MState s = root_state(c);
    Namer names;
    auto& sc = cx.scenario;
    sc.name = "explore_" + cx.invariant;
    sc.kernel = c.profile.name;
    sc.violates = cx.invariant;
    sc.root_uid = c.root.uid;
    sc.root_caps = c.root.caps;
    sc.tasks = {"init", "T"};
    cx.dots.push_back(tree_dot(s.k, names, "initial state"));
    for (uint32_t packed : path) {
        Op op = Op::unpack(packed);
        cx.ops.push_back(op);
        if (op.internal()) cx.interleaved = true;
        scenario::Step st = names.step(s.k, c.alphabet, op);
        Kernel before = s.k;
        s.k.events.clear();
        model::SysRet r = apply_op(s.k, s.aux, c.alphabet, op, !c.bounds.interleave);
        names.after(before, s.k, op, r);
        if (r.ret >= 0 && r.task >= 0 && !st.child.empty()) sc.tasks.push_back(st.child);
        if (!op.internal() && s.k.alive(op.actor)) {
            st.expect = model::return_observation(r);
        }
        std::string line = scenario::describe_step(st);
        if (op.internal()) line = "(kernel) " + describe_op(op, c.alphabet);
        cx.step_text.push_back(line);
        sc.steps.push_back(st);
        cx.dots.push_back(tree_dot(s.k, names, "after step #" + std::to_string(sc.steps.size() - 1) + ": " + line));
    }
    sc.description = "Counterexample found by pidlab explore (" + c.profile.name + ", " +
                     std::to_string(path.size()) + " steps, shortest): " + invariants()[inv].statement + ". " + detail +
                     ".";
    if (cx.interleaved) {
        sc.description += " It needs the kernel's internal transitions (--interleave), shown as observe steps: not a "
                          "replayable scenario yet.";
    } else {
        // final observations, and the replay check with the invariants watched
        cx.verified = check_counterexample(sc, c.profile);
        model::Replayer rp(sc, c.profile);
        try {
            for (size_t i = 0; i < sc.steps.size(); ++i) rp.step(i);
            for (size_t t = 2; t < sc.tasks.size(); ++t) {
                scenario::Observation o;
                o.state = rp.observe(sc.tasks[t]).state;
                sc.final.emplace_back(sc.tasks[t], o);
            }
        } catch (const scenario::FormatError&) {
        }
    }
    return cx;
}

std::vector<std::string> write_counterexample(const Counterexample& c, const std::string& dir) {
    namespace fs = std::filesystem;
    std::vector<std::string> out;
    fs::create_directories(dir);
    std::string base = dir + "/" + c.invariant;
    if (c.interleaved) {
        nlohmann::ordered_json j;
        j["note"] = "needs internal kernel transitions (--interleave); not a replayable scenario yet";
        j["violates"] = c.invariant;
        j["kernel"] = c.scenario.kernel;
        j["detail"] = c.detail;
        j["trace"] = c.step_text;
        std::ofstream(base + ".interleaved.json") << j.dump(2) << "\n";
        out.push_back(base + ".interleaved.json");
    } else {
        std::ofstream(base + ".json") << scenario::to_json(c.scenario).dump(2) << "\n";
        out.push_back(base + ".json");
    }
    fs::create_directories(base);
    for (size_t i = 0; i < c.dots.size(); ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "/step-%02zu.dot", i);
        std::ofstream(base + name) << c.dots[i];
        out.push_back(base + name);
    }
    return out;
}

}  // namespace pidlab::checker
