#include "prop/shrink.hpp"

#include <algorithm>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "format/names.hpp"
#include "prop/world.hpp"

namespace pidlab::prop {

using scenario::Op;
using scenario::Scenario;
using scenario::Step;

namespace {

Limits permissive() {
    Limits l;
    l.max_tasks = 64;
    l.max_names = static_cast<int>(scenario::kMaxTasks);
    l.max_fds = 1 << 20;
    return l;
}

bool creates_task(Op op) { return op == Op::Fork || op == Op::Clone || op == Op::Clone3 || op == Op::ThreadCreate; }

std::string key_of(const Scenario& s) {
    std::string k;
    for (const auto& st : s.steps) k += scenario::to_json(st).dump() + "\n";
    return k;
}

// Every step that mentions a removed task or fd goes, and so does what it created.
Scenario remove_task(const Scenario& s, const std::string& task) {
    std::set<std::string> tasks{task}, fds;
    Scenario out = s;
    out.steps.clear();
    for (const auto& st : s.steps) {
        bool drop = tasks.count(st.task) || (!st.target.empty() && tasks.count(st.target)) ||
                    (!st.child.empty() && tasks.count(st.child)) || (!st.fd.empty() && fds.count(st.fd));
        if (drop) {
            if (!st.child.empty()) tasks.insert(st.child);
            if (!st.new_fd.empty()) fds.insert(st.new_fd);
            continue;
        }
        out.steps.push_back(st);
    }
    return out;
}

// The task created by step `j` merged into its creator: the creation goes, and the creator
// acts (and is targeted) where the task was.
Scenario collapse_task(const Scenario& s, size_t j) {
    const std::string task = s.steps[j].child, creator = s.steps[j].task;
    Scenario out = s;
    out.steps.erase(out.steps.begin() + static_cast<long>(j));
    for (auto& st : out.steps) {
        if (st.task == task) st.task = creator;
        if (st.target == task) st.target = creator;
    }
    std::erase_if(out.final, [&](const auto& f) { return f.first == task; });
    return out;
}

// Simpler versions of one step: one flag, option or argument less.
std::vector<Step> simpler(const Step& st) {
    std::vector<Step> out;
    auto each_bit = [&](uint64_t bits, auto&& make) {
        for (uint64_t b = 1; b; b <<= 1)
            if (bits & b) out.push_back(make(b));
    };
    switch (st.op) {
        case Op::Clone3:
        case Op::Clone:
            each_bit(st.flags, [&](uint64_t b) {
                Step x = st;
                x.flags &= ~b;
                if (b == names::CF_PIDFD) x.new_fd.clear();
                return x;
            });
            if (st.exit_signal != 0) {
                Step x = st;
                x.exit_signal = 0;
                out.push_back(x);
            }
            if (st.exit_signal != names::kSIGCHLD) {
                Step x = st;
                x.exit_signal = names::kSIGCHLD;
                out.push_back(x);
            }
            break;
        case Op::Waitpid:
        case Op::Waitid:
            each_bit(st.options, [&](uint64_t b) {
                Step x = st;
                x.options &= ~static_cast<unsigned>(b);
                return x;
            });
            break;
        case Op::PidfdOpen:
        case Op::Sigaction:
            each_bit(st.flags, [&](uint64_t b) {
                Step x = st;
                x.flags &= ~b;
                return x;
            });
            break;
        case Op::Exit:
        case Op::ExitGroup:
            if (st.code) {
                Step x = st;
                x.code = 0;
                out.push_back(x);
            }
            break;
        case Op::Execve:
            if (st.keep_fds) {
                Step x = st;
                x.keep_fds = false;
                out.push_back(x);
            }
            if (st.setuid_root) {
                Step x = st;
                x.setuid_root = false;
                out.push_back(x);
            }
            break;
        case Op::Ptrace:
            if (st.ptrace_options) {
                Step x = st;
                x.ptrace_options = 0;
                out.push_back(x);
            }
            break;
        default: break;
    }
    return out;
}

}  // namespace

Scenario repair(const Scenario& s, const model::Profile& p, bool race_free) {
    World w(p, permissive(), s.root_uid, s.root_caps);
    Scenario out = s;
    out.steps.clear();
    for (const auto& st : s.steps) {
        if (!w.valid(st)) continue;
        if (race_free) {
            CStep c;
            std::string err;
            if (!w.resolve(st, c, err) || cstep_racy(w.kernel(), c)) continue;
        }
        try {
            w.apply(st);
        } catch (const scenario::FormatError&) {
            continue;  // the model refused it after all: leave it out
        }
        out.steps.push_back(st);
    }
    out.tasks = w.names();
    std::vector<std::pair<std::string, scenario::Observation>> fin;
    for (const auto& f : s.final)
        if (w.known_name(f.first)) fin.push_back(f);
    out.final = fin;
    return out;
}

Scenario shrink(const Scenario& s, const model::Profile& p, const BatchPredicate& fails, const ShrinkOptions& opts,
                ShrinkStats* stats) {
    ShrinkStats local;
    ShrinkStats& st = stats ? *stats : local;
    Scenario cur = s;
    std::set<std::string> tried;
    tried.insert(key_of(cur));

    // Judges candidates (repaired, new ones only) in batches; adopts the first that fails.
    auto try_batch = [&](std::vector<Scenario> cands) -> bool {
        std::vector<Scenario> todo;
        for (auto& c : cands) {
            Scenario r = repair(c, p, opts.race_free);
            if (r.steps.size() > cur.steps.size()) continue;
            if (!tried.insert(key_of(r)).second) continue;
            todo.push_back(std::move(r));
        }
        // smaller candidates first
        std::stable_sort(todo.begin(), todo.end(),
                         [](const Scenario& a, const Scenario& b) { return a.steps.size() < b.steps.size(); });
        for (size_t i = 0; i < todo.size(); i += opts.max_batch) {
            if (st.tests >= opts.max_tests) return false;
            std::vector<Scenario> batch(todo.begin() + i, todo.begin() + std::min(todo.size(), i + opts.max_batch));
            auto res = fails(batch);
            st.rounds++;
            st.tests += batch.size();
            for (size_t j = 0; j < batch.size() && j < res.size(); ++j) {
                if (res[j]) {
                    cur = std::move(batch[j]);
                    st.accepted++;
                    return true;
                }
            }
        }
        return false;
    };

    bool progress = true;
    while (progress && st.tests < opts.max_tests) {
        progress = false;
        // 1. whole tasks, latest first
        {
            std::vector<Scenario> cands;
            for (auto it = cur.steps.rbegin(); it != cur.steps.rend(); ++it)
                if (creates_task(it->op)) cands.push_back(remove_task(cur, it->child));
            if (try_batch(std::move(cands))) {
                progress = true;
                continue;
            }
        }
        // 1b. a task merged into its creator (a chain of creations gets shorter)
        {
            std::vector<Scenario> cands;
            for (size_t j = cur.steps.size(); j-- > 0;)
                if (creates_task(cur.steps[j].op)) cands.push_back(collapse_task(cur, j));
            if (try_batch(std::move(cands))) {
                progress = true;
                continue;
            }
        }
        // 2. ddmin over the steps: remove chunks, halving their size
        size_t n = 2;
        while (!cur.steps.empty() && st.tests < opts.max_tests) {
            const size_t size = cur.steps.size();
            n = std::min(n, size);
            const size_t chunk = (size + n - 1) / n;
            std::vector<Scenario> cands;
            for (size_t i = 0; i < size; i += chunk) {
                Scenario c = cur;
                c.steps.erase(c.steps.begin() + i, c.steps.begin() + std::min(size, i + chunk));
                cands.push_back(std::move(c));
            }
            if (try_batch(std::move(cands))) {
                progress = true;
                n = std::max<size_t>(n - 1, 2);
                continue;
            }
            if (chunk == 1) break;
            n = std::min(size, n * 2);
        }
        // 3. simpler steps
        if (opts.simplify_steps && !progress) {
            std::vector<Scenario> cands;
            for (size_t i = 0; i < cur.steps.size(); ++i)
                for (auto& x : simpler(cur.steps[i])) {
                    Scenario c = cur;
                    c.steps[i] = x;
                    cands.push_back(std::move(c));
                }
            if (try_batch(std::move(cands))) progress = true;
        }
    }
    return cur;
}

}  // namespace pidlab::prop
