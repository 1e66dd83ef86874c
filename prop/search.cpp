#include "prop/search.hpp"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <cctype>
#include <chrono>
#include <set>

#include "format/names.hpp"
#include "prop/shrink.hpp"

namespace pidlab::prop {

using scenario::Op;

namespace {
bool creates_task(Op op) { return op == Op::Fork || op == Op::Clone || op == Op::Clone3 || op == Op::ThreadCreate; }
}  // namespace

FastRunner::FastRunner(const model::Profile& p, const GenConfig& cfg, checker::InvMask mask, int root_uid, bool root_caps)
    : cfg_(cfg), mask_(mask), initial_(p, model::Cred{root_uid, root_uid, root_uid, root_caps, root_uid}), k_(initial_),
      before_(initial_) {}

int FastRunner::run_case(uint64_t seed, size_t steps) {
    k_ = initial_;
    aux_.files.clear();
    steps_.clear();
    viol_.clear();
    FastChooser ch(seed);
    int names_used = 2;
    for (size_t i = 0; i < steps; ++i) {
        const CStep c = gen_cstep(k_, names_used, cfg_, ch, scratch_);
        steps_.push_back(c);
        if (creates_task(c.op)) ++names_used;
        // as checker::ScenarioMonitor::before / after
        before_ = k_;
        aux_before_ = aux_;
        const size_t files_before = k_.files().size();
        const size_t events_from = k_.events.size();
        exec_cstep(k_, c);
        const bool autokill = c.op == Op::Clone3 && (c.flags & names::CF_PIDFD_AUTOKILL);
        checker::note_new_files(k_, files_before, c.actor, autokill, aux_);
        if (mask_) {
            checker::TransitionView tv{before_, aux_before_, k_, aux_, events_from, c.actor};
            checker::check_step(tv, mask_, viol_);
            if (!viol_.empty()) return static_cast<int>(i);
        }
    }
    return -1;
}

World name_case(const model::Profile& p, const GenConfig& cfg, const std::vector<CStep>& steps, checker::InvMask mask,
                int root_uid, bool root_caps) {
    World w(p, cfg.limits, root_uid, root_caps);
    if (mask) w.watch(mask);
    for (const auto& c : steps) w.apply(w.name(c));
    return w;
}

int first_violation(const scenario::Scenario& s, const model::Profile& p, const std::string& invariant) {
    auto r = checker::check_counterexample(s, p);
    if (r.error) return -2;
    for (size_t i = 0; i < r.per_step.size(); ++i)
        if (std::find(r.per_step[i].begin(), r.per_step[i].end(), invariant) != r.per_step[i].end())
            return static_cast<int>(i);
    return -1;
}

ViolationAt find_violation(const scenario::Scenario& s, const model::Profile& p, checker::InvMask mask) {
    ViolationAt out;
    model::Replayer rp(s, p);
    try {
        checker::monitored_replay(rp, s, mask, [&](checker::MonitoredStep& m) {
            if (m.violated.empty()) return true;
            out.step = static_cast<int>(m.index);
            out.invariants = std::move(m.violated);
            for (const auto& d : m.details)
                out.details.push_back(std::string(checker::invariants()[d.inv].name) + ": " + d.detail);
            return false;
        });
    } catch (const scenario::FormatError& e) {
        out.error = e;
    }
    return out;
}

void label_counterexample(scenario::Scenario& s, const std::string& invariant, const std::string& profile,
                          const std::string& how) {
    s.name = invariant + "_" + profile;
    for (auto& ch : s.name)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) ch = '_';
    s.kernel = profile;
    s.violates = invariant;
    s.description = how;
    s.file = s.name + ".json";
}

namespace {

double thread_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct Hit {
    uint64_t index = 0;
    std::string invariant, detail;
    std::vector<CStep> steps;
};

}  // namespace

SearchResult random_search(const SearchOptions& o) {
    SearchResult res;
    auto t0 = std::chrono::steady_clock::now();
    const int jobs = std::max(1, o.jobs);
    std::atomic<uint64_t> stop_after{std::numeric_limits<uint64_t>::max()};  // the lowest hit's index (unless keep_going)
    std::atomic<uint64_t> done{0}, steps{0};
    std::mutex mu;
    std::map<std::string, Hit> hits;  // invariant -> its lowest hit
    double cpu = 0;

    auto worker = [&](int t) {
        const double c0 = thread_cpu_seconds();
        FastRunner runner(o.profile, o.gen, o.mask, o.root_uid, o.root_caps);
        std::map<std::string, Hit> mine;
        uint64_t my_steps = 0;
        for (uint64_t i = static_cast<uint64_t>(t); i < o.cases; i += static_cast<uint64_t>(jobs)) {
            if (i > stop_after.load(std::memory_order_relaxed)) break;
            int at = runner.run_case(case_seed(o.seed, i), o.steps);
            my_steps += runner.steps().size();
            uint64_t d = done.fetch_add(1, std::memory_order_relaxed) + 1;
            if (o.progress && o.progress_every && d % o.progress_every == 0) {
                std::lock_guard<std::mutex> lk(mu);
                o.progress(d, hits.size());
            }
            if (at < 0) continue;
            const auto& v = runner.violations().front();
            std::string inv = checker::invariants()[v.inv].name;
            if (mine.count(inv)) continue;
            mine[inv] = Hit{i, inv, v.detail, runner.steps()};
            if (o.keep_going) {
                checker::InvMask m = o.mask;
                for (const auto& [name, h] : mine) m &= ~(checker::InvMask{1} << *checker::invariant_index(name));
                runner.set_mask(m);
                if (!m) break;
            }
            if (!o.keep_going) {
                uint64_t cur = stop_after.load();
                while (i < cur && !stop_after.compare_exchange_weak(cur, i)) {
                }
                break;
            }
            std::lock_guard<std::mutex> lk(mu);
            auto it = hits.find(inv);
            if (it == hits.end() || it->second.index > i) hits[inv] = mine[inv];
        }
        std::lock_guard<std::mutex> lk(mu);
        for (auto& [inv, h] : mine) {
            auto it = hits.find(inv);
            if (it == hits.end() || it->second.index > h.index) hits[inv] = h;
        }
        steps += my_steps;
        cpu += thread_cpu_seconds() - c0;
    };
    if (jobs == 1) {
        worker(0);
    } else {
        std::vector<std::thread> ts;
        for (int t = 0; t < jobs; ++t) ts.emplace_back(worker, t);
        for (auto& th : ts) th.join();
    }
    res.cpu_seconds = cpu;
    res.steps = steps.load();
    std::vector<Hit> order;
    for (auto& [inv, h] : hits) order.push_back(h);
    std::sort(order.begin(), order.end(), [](const Hit& a, const Hit& b) { return a.index < b.index; });
    if (!o.keep_going && order.size() > 1) order.resize(1);
    res.cases = order.empty() || o.keep_going ? done.load() : order.front().index + 1;

    for (const auto& h : order) {
        const std::string& inv = h.invariant;
        Finding f;
        f.case_index = h.index;
        f.seed = case_seed(o.seed, h.index);
        f.invariant = inv;
        // The case as a scenario, through model::Replayer (the names, and the check that it shows the same).
        World w = name_case(o.profile, o.gen, h.steps, o.mask, o.root_uid, o.root_caps);
        f.found = w.scenario();
        for (const auto& d : w.violation_details())
            if (checker::invariants()[d.inv].name == inv) f.detail = d.detail;
        if (f.detail.empty()) f.detail = h.detail;
        label_counterexample(f.found, inv, o.profile.name,
                             "random search (seed " + std::to_string(o.seed) + ", case " + std::to_string(h.index) +
                                 "): " + f.detail);
        f.shrunk = f.found;
        if (o.shrink) {
            BatchPredicate pred = [&](const std::vector<scenario::Scenario>& cs) {
                std::vector<bool> out;
                for (const auto& c : cs) out.push_back(first_violation(c, o.profile, inv) >= 0);
                return out;
            };
            ShrinkStats st;
            f.shrunk = shrink(f.found, o.profile, pred, {}, &st);
            f.shrink_tests = st.tests;
            int last = first_violation(f.shrunk, o.profile, inv);
            if (last >= 0) f.shrunk.steps.resize(static_cast<size_t>(last) + 1);
            f.shrunk = repair(f.shrunk, o.profile);
            auto chk = checker::check_counterexample(f.shrunk, o.profile);
            std::string detail = f.detail;
            for (const auto& d : chk.details)
                if (d.rfind(inv + ": ", 0) == 0) detail = d.substr(inv.size() + 2);
            label_counterexample(f.shrunk, inv, o.profile.name,
                                 "random search (seed " + std::to_string(o.seed) + ", case " + std::to_string(h.index) +
                                     "), shrunk from " + std::to_string(f.found.steps.size()) + " steps: " + detail);
        }
        res.findings.push_back(std::move(f));
    }
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

}  // namespace pidlab::prop
