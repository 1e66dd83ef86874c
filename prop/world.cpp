#include "prop/world.hpp"

#include <algorithm>
#include <charconv>

#include "format/names.hpp"

namespace pidlab::prop {

using model::kNoTask;
using model::TaskId;
using scenario::Op;
using scenario::Step;

namespace {

bool creates_task(Op op) { return scenario::op_info(op).has(scenario::OP_NEW_TASK); }

// A name of the form <prefix><number>: the number, else 0.
int name_seq(const std::string& n, char prefix) {
    if (n.size() < 2 || n[0] != prefix) return 0;
    int v = 0;
    auto [p, ec] = std::from_chars(n.data() + 1, n.data() + n.size(), v);
    return ec == std::errc{} && p == n.data() + n.size() ? v : 0;
}


}  // namespace

World::World(const model::Profile& p, const Limits& limits, int root_uid, bool root_caps)
    : profile_(p), limits_(limits), root_uid_(root_uid), root_caps_(root_caps),
      scratch_(std::make_shared<scenario::Scenario>()), dry_(std::make_shared<Scratch>()) {
    scratch_->name = "world";
    scratch_->file = "(generated)";
    scratch_->root_uid = root_uid;
    scratch_->root_caps = root_caps;
    scratch_->tasks = {"init", "T"};
    rp_.emplace(*scratch_, profile_);
    names_ = {"init", "T"};
    fds_[kernel().task(model::kInit).files];
    fds_[kernel().task(model::kTest).files];
}

World::World(const World& o) = default;

// The Replayer refers to its scenario (shared through scratch_), so it cannot be
// assigned: build the copy, then move-assign it (which re-creates the Replayer).
World& World::operator=(const World& o) {
    if (this != &o) *this = World(o);
    return *this;
}

World::World(World&& o) noexcept = default;

World& World::operator=(World&& o) noexcept {
    if (this == &o) return *this;
    profile_ = std::move(o.profile_);
    limits_ = o.limits_;
    root_uid_ = o.root_uid_;
    root_caps_ = o.root_caps_;
    scratch_ = std::move(o.scratch_);
    dry_ = std::move(o.dry_);
    rp_.reset();
    if (o.rp_) rp_.emplace(std::move(*o.rp_));
    steps_ = std::move(o.steps_);
    obs_ = std::move(o.obs_);
    names_ = std::move(o.names_);
    fds_ = std::move(o.fds_);
    task_seq_ = o.task_seq_;
    fd_seq_ = o.fd_seq_;
    monitor_ = std::move(o.monitor_);
    violations_ = std::move(o.violations_);
    details_ = std::move(o.details_);
    return *this;
}

World::~World() = default;

bool World::known_name(const std::string& n) const { return std::find(names_.begin(), names_.end(), n) != names_.end(); }

std::vector<TaskId> World::live_tasks() const {
    std::vector<TaskId> out;
    const auto& k = kernel();
    for (TaskId t = 0; t < static_cast<TaskId>(k.tasks().size()); ++t)
        if (k.alive(t)) out.push_back(t);
    return out;
}

std::vector<std::pair<std::string, int>> World::fds_of(TaskId t) const {
    std::vector<std::pair<std::string, int>> out;
    const auto& k = kernel();
    if (t < 0 || t >= static_cast<TaskId>(k.tasks().size()) || k.task(t).files < 0) return out;
    auto it = fds_.find(k.task(t).files);
    if (it == fds_.end()) return out;
    for (const auto& [name, fd] : it->second) out.emplace_back(name, fd);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    return out;
}

int World::fd_number(TaskId t, const std::string& name) const {
    const auto& k = kernel();
    if (t < 0 || t >= static_cast<TaskId>(k.tasks().size()) || k.task(t).files < 0) return -1;
    auto it = fds_.find(k.task(t).files);
    if (it == fds_.end()) return -1;
    auto f = it->second.find(name);
    return f == it->second.end() ? -1 : f->second;
}

bool World::resolve(const Step& st, CStep& c, std::string& err) const {
    c = CStep{};
    static_cast<scenario::StepArgs&>(c) = st;
    c.actor = task_id(st.task);
    if (c.actor == kNoTask) {
        err = "task " + st.task + " was never created";
        return false;
    }
    const bool creates = creates_task(st.op);
    // The names a step holds are the ones its op takes (as model::Replayer::step reads them).
    if (!st.target.empty()) {
        c.target = task_id(st.target);
        if (c.target == kNoTask) {
            err = "task " + st.target + " was never created";
            return false;
        }
    }
    if (!st.fd.empty()) {
        c.fd = fd_number(c.actor, st.fd);
        if (c.fd < 0) {
            err = "fd " + st.fd + " is not open in " + st.task + "'s table";
            return false;
        }
    }
    if (creates) {
        if (st.child.empty() || known_name(st.child)) {
            err = "the child's name is taken";
            return false;
        }
    }
    c.new_fd = !st.new_fd.empty();
    if (c.new_fd && fd_number(c.actor, st.new_fd) >= 0) {
        err = "fd name " + st.new_fd + " is open already in " + st.task + "'s table";
        return false;
    }
    if (st.raw_flags) {
        err = "raw clone flag bits are not generated";
        return false;
    }
    return true;
}

std::string World::why_invalid(const Step& st) const {
    CStep c;
    std::string err;
    if (!resolve(st, c, err)) return err;
    return cstep_invalid(kernel(), static_cast<int>(names_.size()), limits_, c, *dry_);
}

Step World::name(const CStep& c) const {
    Step st;
    static_cast<scenario::StepArgs&>(st) = c;
    st.task = task_name(c.actor);
    if (creates_task(c.op)) st.child = fresh_task_name();
    if (c.new_fd) st.new_fd = fresh_fd_name();
    if (!c.target_any && c.target != kNoTask) st.target = task_name(c.target);
    if (c.fd >= 0) {
        for (const auto& [n, fd] : fds_of(c.actor))
            if (fd == c.fd) st.fd = n;
    }
    return st;
}

Step World::generate(const GenConfig& cfg, Chooser& ch) const {
    return name(gen_cstep(kernel(), static_cast<int>(names_.size()), cfg, ch, *dry_));
}

void World::run_random_race_free(const GenConfig& cfg, Chooser& ch, size_t n, int tries) {
    for (size_t i = 0; i < n; ++i) {
        bool done = false;
        for (int t = 0; t < tries && !done; ++t) {
            CStep c = gen_cstep(kernel(), static_cast<int>(names_.size()), cfg, ch, *dry_);
            if (cstep_racy(kernel(), c)) continue;
            apply(name(c));
            done = true;
        }
        if (!done) return;
    }
}

void World::run_random(const GenConfig& cfg, Chooser& ch, size_t n, bool stop_on_violation) {
    for (size_t i = 0; i < n; ++i) {
        apply(generate(cfg, ch));
        if (stop_on_violation && !violations_.empty()) return;
    }
}

void World::prepare_scratch(size_t i, const Step* st) const {
    auto& s = *scratch_;
    if (st) {
        if (s.steps.size() <= i) s.steps.resize(i + 1);
        s.steps[i] = *st;
        s.steps[i].expect.reset();
    }
    s.tasks = names_;
}

void World::note_name(const std::string& n, bool fd) {
    if (fd) fd_seq_ = std::max(fd_seq_, name_seq(n, 'f'));
    else task_seq_ = std::max(task_seq_, name_seq(n, 'C'));
}

void World::watch(checker::InvMask mask) {
    monitor_.emplace(mask);
    violations_.clear();
    details_.clear();
}

const scenario::Observation& World::apply(const Step& st) {
    const size_t i = steps_.size();
    const TaskId cur = task_id(st.task);
    const int table_before = cur == kNoTask ? -1 : kernel().task(cur).files;
    std::vector<int> fds_before;
    if (table_before >= 0)
        for (const auto& e : kernel().fd_tables()[table_before].entries) fds_before.push_back(e.fd);

    if (monitor_) monitor_->before(*rp_);
    prepare_scratch(i, &st);
    if (creates_task(st.op)) scratch_->tasks.push_back(st.child);
    model::StepOutcome out = rp_->step(i);
    steps_.push_back(st);
    obs_.push_back(std::move(out.obs));
    if (creates_task(st.op)) {
        names_.push_back(st.child);
        note_name(st.child, false);
    }
    if (!st.new_fd.empty()) note_name(st.new_fd, true);
    if (monitor_) violations_ = monitor_->after(*rp_, st, &details_);

    // The fd names, as model::Replayer keeps them.
    const auto& k = kernel();
    if (table_before >= 0) {
        fds_[table_before];
        if (creates_task(st.op)) {
            TaskId child = task_id(st.child);
            if (child != kNoTask) {
                int ct = k.task(child).files;
                if (ct >= 0 && !fds_.count(ct)) fds_[ct] = fds_[table_before];
            }
        }
        if (!st.new_fd.empty()) {
            const auto& tabs = k.fd_tables();
            if (table_before < static_cast<int>(tabs.size()))
                for (const auto& e : tabs[table_before].entries)
                    if (std::find(fds_before.begin(), fds_before.end(), e.fd) == fds_before.end())
                        fds_[table_before][st.new_fd] = e.fd;
        }
        if (st.op == Op::Execve) {
            int after = k.task(cur).files;
            if (after >= 0 && after != table_before) fds_[after] = fds_[table_before];
        }
    }
    // forget names whose fd is no longer open (model::Replayer::sync_fd_names)
    const auto& tables = k.fd_tables();
    for (auto& [table, m] : fds_) {
        for (auto it = m.begin(); it != m.end();) {
            bool open = table < static_cast<int>(tables.size()) && tables[table].users > 0 &&
                        std::any_of(tables[table].entries.begin(), tables[table].entries.end(),
                                    [&](const model::FdEntry& e) { return e.fd == it->second; });
            it = open ? std::next(it) : m.erase(it);
        }
    }
    return obs_.back();
}

scenario::Scenario World::scenario(const std::string& name) const {
    scenario::Scenario s;
    s.name = name;
    s.file = name + ".json";
    s.root_uid = root_uid_;
    s.root_caps = root_caps_;
    s.steps = steps_;
    s.tasks = names_;
    return s;
}

std::map<std::string, scenario::Observation> World::final_observations() const {
    prepare_scratch(0, nullptr);
    return rp_->final_observations();
}

}  // namespace pidlab::prop
