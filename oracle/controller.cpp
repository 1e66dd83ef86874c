#include "oracle/controller.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <thread>

#include "format/names.hpp"
#include "oracle/protocol.hpp"
#include "oracle/puppet.hpp"
#include "oracle/settle.hpp"

namespace pidlab::oracle {

using procfs::Clock;
using procfs::Life;
using scenario::Observation;
using scenario::Op;
using scenario::Step;
namespace fs = std::filesystem;

std::string kernel_release() {
    utsname u{};
    if (uname(&u) != 0) return "unknown";
    return u.release;
}

namespace {

// The step error strings (the `error` of an observation).
std::string not_alive(const std::string& task) { return "task " + task + " is not alive"; }
std::string never_created(const std::string& task) { return "task " + task + " was never created"; }
std::string fd_not_open(const std::string& fd, const std::string& task) {
    return "fd " + fd + " is not open in task " + task;
}
const char* const kWouldBlock = "would block";

// What to undo when the controller is told to stop (SIGTERM, SIGINT, SIGHUP):
// kill the current scenario's namespace and remove the helpers, above all the
// setuid one. (SIGKILL cannot be caught: then init's PR_SET_PDEATHSIG ends the
// namespace and the helper directory stays behind.)
struct EmergencyCleanup {
    char dir[512], helper[512], helper_suid[512], socket[512], lock[512];
    volatile pid_t init;
} g_emergency;

void set_path(char (&dst)[512], const std::string& src) {
    std::snprintf(dst, sizeof dst, "%s", src.c_str());
}

extern "C" void on_stop_signal(int sig) {
    if (g_emergency.init > 0) kill(g_emergency.init, SIGKILL);
    for (const char* p : {g_emergency.socket, g_emergency.helper, g_emergency.helper_suid, g_emergency.lock})
        if (*p) unlink(p);
    if (*g_emergency.dir) rmdir(g_emergency.dir);
    signal(sig, SIG_DFL);
    raise(sig);
}

// The run stops: the reason goes to RunResult::aborted.
struct Abort : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

using FdTable = std::map<std::string, int>;  // fd name -> fd number

struct Task : procfs::KernelTask {
    int ctl = -1;                   // the controller's end of the puppet's channel
    std::vector<pid_t> nspid;       // the tid from the controller's namespace inwards
    std::string pidns;              // /proc/TID/ns/pid ("pid:[inode]")
    std::shared_ptr<FdTable> fds;   // shared by CLONE_FILES
};


struct Deadline {
    Clock::time_point at;
    std::string what;  // "the step timeout (2000 ms)"
};

Observation from_ret(long raw) {
    Observation o;
    if (raw < 0) {
        o.ret = scenario::Ret{false, -1};
        o.err = static_cast<int>(-raw);
    } else {
        o.ret = scenario::Ret{false, raw};
    }
    return o;
}
Observation error_obs(std::string e) {
    Observation o;
    o.error = std::move(e);
    return o;
}

class ScenarioRun {
public:
    ScenarioRun(const scenario::Scenario& s, const RunOptions& opts, std::string socket_path, const std::string& helper,
                const std::string& helper_suid)
        : s_(s), opts_(opts), socket_path_(std::move(socket_path)), helper_(helper), helper_suid_(helper_suid) {
        for (const auto& name : s.tasks) {
            auto t = std::make_unique<Task>();
            t->name = name;
            index_[name] = static_cast<int>(tasks_.size());
            tasks_.push_back(std::move(t));
        }
    }
    ~ScenarioRun() { teardown(); }

    scenario::RunResult run(const std::string& kernel) {
        scenario::RunResult res;
        res.scenario = s_.name;
        res.file = s_.file;
        res.kernel = kernel;
        scenario_deadline_ = Clock::now() + std::chrono::milliseconds(opts_.scenario_timeout_ms);
        try {
            if (static_cast<int>(s_.tasks.size()) > opts_.max_tasks)
                throw Abort("the scenario has " + std::to_string(s_.tasks.size()) + " tasks; the limit is " +
                            std::to_string(opts_.max_tasks));
            {
                PhaseTimer pt(Profile::Setup);
                start();
            }
            for (size_t i = 0; i < s_.steps.size(); ++i) {
                where_ = "step " + std::to_string(i) + " (" + scenario::describe_step(s_.steps[i]) + ")";
                {
                    PhaseTimer pt(Profile::Steps);
                    res.steps.push_back(step(s_.steps[i], static_cast<int>(i)));
                }
                PhaseTimer pt(Profile::Settle);
                settle();
            }
            where_ = "final";
            PhaseTimer pt(Profile::Final);
            for (const auto& name : s_.tasks) res.final[name] = observe_task(task(name));
        } catch (const Abort& e) {
            res.aborted = e.what();
            res.final.clear();
        }
        PhaseTimer td(Profile::Teardown);
        if (auto problem = teardown()) {
            auto msg = "cleanup: " + *problem;
            res.aborted = res.aborted ? *res.aborted + "; " + msg : msg;
        }
        return res;
    }

private:
    // ---- plumbing -------------------------------------------------------------

    Task& task(const std::string& name) { return *tasks_.at(index_.at(name)); }

    std::vector<procfs::KernelTask*> kernel_tasks() {
        std::vector<procfs::KernelTask*> out;
        for (auto& t : tasks_) out.push_back(t.get());
        return out;
    }

    Deadline step_deadline() const {
        auto step = Clock::now() + std::chrono::milliseconds(opts_.step_timeout_ms);
        if (scenario_deadline_ < step)
            return {scenario_deadline_, "the scenario timeout (" + std::to_string(opts_.scenario_timeout_ms) + " ms)"};
        return {step, "the step timeout (" + std::to_string(opts_.step_timeout_ms) + " ms)"};
    }

    [[noreturn]] void timed_out(const Deadline& d, const std::string& waiting_for) const {
        throw Abort(where_ + ": " + waiting_for + " took longer than " + d.what);
    }

    static bool wait_readable(int fd, Clock::time_point until, int slice_ms = -1) {
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
            if (left < 0) left = 0;
            if (slice_ms >= 0 && left > slice_ms) left = slice_ms;
            pollfd p{fd, POLLIN, 0};
            int r = poll(&p, 1, static_cast<int>(left));
            if (r > 0) return true;
            if (r < 0 && errno == EINTR) continue;
            return false;
        }
    }

    proto::Command command(proto::Cmd cmd) const {
        proto::Command c;
        std::memset(&c, 0, sizeof c);
        c.magic = proto::kMagic;
        c.cmd = cmd;
        c.fd = -1;
        return c;
    }

    void send(Task& t, const proto::Command& c) {
        if (t.ctl < 0) throw Abort(where_ + ": task " + t.name + " has no channel");
        ::send(t.ctl, &c, sizeof c, MSG_NOSIGNAL);
    }

    // Sends a command and waits for the answer. nullopt: the task died in the
    // call (it never returned to user space, e.g. it killed itself). An execve
    // is not watched through /proc: a thread that execs takes over its leader's
    // pid while its own is released, which looks like death from outside.
    std::optional<proto::Reply> call(Task& t, const proto::Command& c, const Deadline& d, bool watch = true) {
        if (t.ctl < 0) throw Abort(where_ + ": task " + t.name + " has no channel");
        if (::send(t.ctl, &c, sizeof c, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof c)) return std::nullopt;
        for (;;) {
            if (wait_readable(t.ctl, d.at, 2)) {
                proto::Reply r;
                ssize_t n = recv(t.ctl, &r, sizeof r, 0);
                if (n == 0) return std::nullopt;
                if (n < 0 && errno == EINTR) continue;
                if (n != static_cast<ssize_t>(sizeof r) || r.magic != proto::kMagic || r.kind != proto::Kind::Reply)
                    throw Abort(where_ + ": task " + t.name + " sent a malformed reply");
                return r;
            }
            ++profile().call_slices;
            if (watch && procfs::examine(t) != Life::Running) {
                if (wait_readable(t.ctl, Clock::now())) continue;  // an answer that raced with its death
                return std::nullopt;
            }
            if (Clock::now() >= d.at) timed_out(d, "the answer of task " + t.name);
        }
    }

    // The Hello of a new puppet: who it is in the controller's namespace.
    void accept_child(Task& child, const Deadline& d) {
        const int index = index_.at(child.name);
        if (!wait_readable(listen_fd_, d.at)) timed_out(d, "the first report of new task " + child.name);
        int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) throw Abort(where_ + ": " + errno_text("accept"));
        proto::Reply h;
        if (!wait_readable(c, d.at) || recv(c, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h) ||
            h.magic != proto::kMagic || h.kind != proto::Kind::Hello || h.child != index) {
            close(c);
            throw Abort(where_ + ": new task " + child.name + " did not introduce itself properly");
        }
        ucred cred{};
        socklen_t len = sizeof cred;
        if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
            close(c);
            throw Abort(where_ + ": " + errno_text("SO_PEERCRED"));
        }
        child.ctl = c;
        child.tgid = cred.pid;
        // SO_PEERCRED names the thread group; the Hello's own tid names the thread.
        auto matches = [&](pid_t tid) {
            auto st = procfs::read_status(child.tgid, tid);
            if (!st || st->nspid.empty() || st->nspid.back() != h.tid) return false;
            child.tid = tid;
            child.nspid = st->nspid;
            return true;
        };
        bool found = matches(child.tgid);
        for (pid_t tid : found ? std::vector<pid_t>{} : procfs::threads_of(child.tgid))
            if ((found = matches(tid))) break;
        if (!found) throw Abort(where_ + ": cannot find new task " + child.name + " in /proc");
        char buf[64] = {};
        auto link = "/proc/" + std::to_string(child.tgid) + "/task/" + std::to_string(child.tid) + "/ns/pid";
        if (readlink(link.c_str(), buf, sizeof buf - 1) > 0) child.pidns = buf;
        child.pidfd = procfs::open_watch(child.tid, child.tid == child.tgid);
        child.created = true;
    }

    // The pid of `target` as `actor` names it (in the actor's pid namespace).
    std::optional<pid_t> pid_in(const Task& actor, const Task& target) const {
        size_t level = actor.nspid.size() - 1;
        if (target.nspid.size() <= level) return std::nullopt;
        if (target.nspid.size() == actor.nspid.size() && target.pidns != actor.pidns) return std::nullopt;
        return target.nspid[level];
    }
    // The task a pid in the actor's namespace names (wait results).
    std::optional<std::string> name_in(const Task& actor, pid_t pid) const {
        for (const auto& t : tasks_)
            if (t->created && pid_in(actor, *t) == pid) return t->name;
        return std::nullopt;
    }
    // A step's target as its actor names it; sets `err` when there is no such pid.
    pid_t pid_of_target(const Task& actor, const std::string& target, std::string& err) const {
        const Task& t = *tasks_.at(index_.at(target));
        if (!t.created) {
            err = never_created(target);
            return 0;
        }
        auto p = pid_in(actor, t);
        if (!p) err = "task " + target + " is not visible in task " + actor.name + "'s pid namespace";
        return p.value_or(0);
    }
    std::optional<std::string> name_of_global(pid_t tgid) const {
        for (int pass = 0; pass < 2; ++pass)
            for (const auto& t : tasks_)
                if (t->created && t->tid == tgid && t->tgid == tgid && (pass == 1 || !t->released)) return t->name;
        return std::nullopt;
    }

    // ---- the scenario's world ------------------------------------------------

    void start() {
        Deadline d = step_deadline();
        where_ = "setup";
        listen_fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (listen_fd_ < 0) throw Abort("setup: " + errno_text("socket"));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        if (socket_path_.size() >= sizeof a.sun_path) throw Abort("setup: socket path too long: " + socket_path_);
        std::strcpy(a.sun_path, socket_path_.c_str());
        unlink(socket_path_.c_str());
        if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            throw Abort("setup: " + errno_text("bind " + socket_path_));
        bound_ = true;
        set_path(g_emergency.socket, socket_path_);
        // Puppets that dropped to another uid connect too.
        chmod(socket_path_.c_str(), 0777);
        if (listen(listen_fd_, 64) != 0) throw Abort("setup: " + errno_text("listen"));

        puppet::configure(socket_path_.c_str(), helper_.c_str(), helper_suid_.c_str());
        struct {
            uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
        } args{};
        args.flags = CLONE_NEWPID;
        args.exit_signal = SIGCHLD;
        long pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0) puppet::run_init();
        if (pid < 0) throw Abort("setup: " + errno_text("clone3(CLONE_NEWPID) for the scenario's init (root needed)"));
        init_pid_ = static_cast<pid_t>(pid);
        g_emergency.init = init_pid_;
        Task& init = *tasks_.at(0);
        init.fds = std::make_shared<FdTable>();
        accept_child(init, d);

        // T: a child of init, credentials from `root`.
        Task& t = *tasks_.at(1);
        auto c = command(proto::Cmd::Fork);
        c.child = 1;
        auto r = call(init, c, d);
        if (!r || r->ret <= 0)
            throw Abort("setup: init could not fork T: " + (r ? std::string(std::strerror(static_cast<int>(-r->ret))) : "init died"));
        accept_child(t, d);
        t.fds = std::make_shared<FdTable>(*init.fds);
        if (s_.root_uid != 0 || !s_.root_caps) {
            auto rc = command(proto::Cmd::SetupRoot);
            rc.uid = s_.root_uid;
            rc.caps = s_.root_caps ? 1 : 0;
            auto rr = call(t, rc, d);
            if (!rr || rr->ret < 0)
                throw Abort("setup: cannot give T uid " + std::to_string(s_.root_uid) + " and caps " +
                            (s_.root_caps ? "all" : "none") +
                            (rr ? ": " + std::string(std::strerror(static_cast<int>(-rr->ret))) : ""));
        }
        settle();
    }

    void settle() {
        Deadline d = step_deadline();
        if (auto dying = procfs::settle(kernel_tasks(), d.at)) timed_out(d, "settling (task " + *dying + " still dying)");
    }

    // Kills the namespace (its init) and checks that nothing survived.
    std::optional<std::string> teardown() {
        std::optional<std::string> problem;
        if (init_pid_ > 0) {
            kill(init_pid_, SIGKILL);
            auto until = Clock::now() + std::chrono::seconds(5);
            // The init's exit (zap_pid_ns_processes has waited for every other
            // task of the namespace by then) wakes the controller's pidfd for it.
            const Task& init = *tasks_.at(0);
            const int init_watch = init.created && init.tid == init_pid_ && !init.released ? init.pidfd : -1;
            for (;;) {
                int status;
                pid_t r = waitpid(init_pid_, &status, WNOHANG);
                if (r == init_pid_ || (r < 0 && errno == ECHILD)) break;
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
                if (left <= 0) {
                    problem = "the scenario's init (pid " + std::to_string(init_pid_) + ") did not die within 5 s";
                    break;
                }
                if (init_watch >= 0) {
                    pollfd p{init_watch, POLLIN, 0};
                    poll(&p, 1, static_cast<int>(std::min<long>(left, 100)));
                } else {
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                }
            }
            init_pid_ = 0;
            g_emergency.init = 0;
            // Every task is gone once the namespace's init is reaped; check it.
            auto until_gone = Clock::now() + std::chrono::seconds(2);
            for (auto& t : tasks_) {
                while (t->created && procfs::examine(*t) != Life::Released && Clock::now() < until_gone)
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                if (t->created && !t->released && !problem)
                    problem = "task " + t->name + " (pid " + std::to_string(t->tid) + ") is still there";
            }
        }
        for (auto& t : tasks_) {
            if (t->ctl >= 0) close(t->ctl);
            if (t->pidfd >= 0) close(t->pidfd);
            t->ctl = t->pidfd = -1;
        }
        if (listen_fd_ >= 0) close(listen_fd_);
        listen_fd_ = -1;
        if (bound_) unlink(socket_path_.c_str());
        bound_ = false;
        return problem;
    }

    // ---- steps ----------------------------------------------------------------

    Observation step(const Step& st, int index) {
        Task& actor = task(st.task);
        if (procfs::examine(actor) != Life::Running) return error_obs(not_alive(st.task));
        Deadline d = step_deadline();
        if (index == opts_.stall_step) {
            auto c = command(proto::Cmd::Stall);
            c.value = opts_.stall_ms;
            call(actor, c, d);
        }
        auto target_pid = [&](std::string& err) { return pid_of_target(actor, st.target, err); };
        auto fd_of = [&](const std::string& name, std::string& err) -> int {
            auto it = actor.fds->find(name);
            if (it == actor.fds->end()) {
                err = fd_not_open(name, st.task);
                return -1;
            }
            return it->second;
        };
        std::string err;
        switch (st.op) {
            case Op::Fork:
            case Op::Clone3:
            case Op::Clone:
            case Op::ThreadCreate: return create(actor, st, d);
            case Op::Exit:
            case Op::ExitGroup: {
                auto c = command(proto::cmd_of(st.op));
                c.code = st.code;
                send(actor, c);
                actor.must_die = true;
                if (st.op == Op::ExitGroup)
                    for (auto& t : tasks_)
                        if (t->created && !t->released && t->tgid == actor.tgid) t->must_die = true;
                return {};  // the call does not return
            }
            case Op::Kill: {
                auto c = command(proto::cmd_of(st.op));
                c.pid = target_pid(err);
                if (!err.empty()) return error_obs(err);
                c.sig = st.sig;
                return plain(actor, c, d);
            }
            case Op::PidfdSendSignal: {
                auto c = command(proto::cmd_of(st.op));
                c.fd = fd_of(st.fd, err);
                if (!err.empty()) return error_obs(err);
                c.sig = st.sig;
                return plain(actor, c, d);
            }
            case Op::Sigaction: {
                auto c = command(proto::cmd_of(st.op));
                c.sig = st.sig;
                c.handler = st.handler == scenario::Handler::Ign   ? proto::Handler::Ign
                            : st.handler == scenario::Handler::Dfl ? proto::Handler::Dfl
                                                                   : proto::Handler::Catch;
                c.flags = st.flags;
                return plain(actor, c, d);
            }
            case Op::Waitpid:
            case Op::Waitid: return wait(actor, st, d);
            case Op::PidfdOpen: {
                auto c = command(proto::cmd_of(st.op));
                c.pid = target_pid(err);
                if (!err.empty()) return error_obs(err);
                c.flags = st.flags;
                return new_fd(actor, c, st.new_fd, d);
            }
            case Op::Close: {
                auto c = command(proto::cmd_of(st.op));
                c.fd = fd_of(st.fd, err);
                if (!err.empty()) return error_obs(err);
                actor.fds->erase(st.fd);
                return plain(actor, c, d);
            }
            case Op::Dup: {
                auto c = command(proto::cmd_of(st.op));
                c.fd = fd_of(st.fd, err);
                if (!err.empty()) return error_obs(err);
                return new_fd(actor, c, st.new_fd, d);
            }
            case Op::Poll: {
                auto c = command(proto::cmd_of(st.op));
                c.fd = fd_of(st.fd, err);
                if (!err.empty()) return error_obs(err);
                auto r = call(actor, c, d);
                if (!r) return {};
                auto o = from_ret(r->ret);
                if (r->ret >= 0) o.revents = static_cast<unsigned>(r->value);
                return o;
            }
            case Op::PidfdGetInfo: {
                auto c = command(proto::cmd_of(st.op));
                c.fd = fd_of(st.fd, err);
                if (!err.empty()) return error_obs(err);
                auto r = call(actor, c, d);
                if (!r) return {};
                auto o = from_ret(r->ret);
                if (r->ret >= 0) {
                    if (r->info_mask & (1ULL << 3)) o.exit = std::optional<scenario::WaitStatus>{wait_status(r->exit_code)};
                    else o.exit = std::optional<scenario::WaitStatus>{};
                }
                return o;
            }
            case Op::Prctl: return prctl(actor, st, d);
            case Op::DropPrivileges:
            case Op::Setresuid: {
                auto c = command(proto::cmd_of(st.op));
                c.uid = st.uid;
                return plain(actor, c, d);
            }
            case Op::Execve: return execve(actor, st, d);
            case Op::Ptrace: {
                auto c = command(proto::cmd_of(st.op));
                c.pid = target_pid(err);
                if (!err.empty()) return error_obs(err);
                c.option = st.ptrace == scenario::PtraceRequest::Seize ? proto::kPTRACE_SEIZE : proto::kPTRACE_DETACH;
                c.flags = st.ptrace_options;
                return plain(actor, c, d);
            }
            case Op::SignalPending: {
                auto c = command(proto::cmd_of(st.op));
                c.sig = st.sig;
                auto r = call(actor, c, d);
                if (!r) return {};
                if (r->ret == st.sig || r->ret == -EAGAIN) {
                    auto o = from_ret(0);
                    o.pending = r->ret == st.sig;
                    return o;
                }
                return from_ret(r->ret < 0 ? r->ret : -EINVAL);
            }
            case Op::Observe: return observe_task(task(st.target));
        }
        return error_obs("unsupported op");
    }

    // A call whose observation is its return value.
    Observation plain(Task& actor, const proto::Command& c, const Deadline& d) {
        auto r = call(actor, c, d);
        if (!r) return {};
        return from_ret(r->ret);
    }

    // pidfd_open / dup: the new fd gets the step's name in the actor's table.
    Observation new_fd(Task& actor, const proto::Command& c, const std::string& name, const Deadline& d) {
        auto r = call(actor, c, d);
        if (!r) return {};
        if (r->ret < 0) return from_ret(r->ret);
        (*actor.fds)[name] = static_cast<int>(r->ret);
        Observation o;
        o.ret = scenario::Ret{true, 0};
        return o;
    }

    static scenario::WaitStatus wait_status(int status) {
        if (WIFSIGNALED(status)) return {true, WTERMSIG(status)};
        return {false, WEXITSTATUS(status)};
    }

    Observation create(Task& actor, const Step& st, const Deadline& d) {
        const proto::Cmd cmd = proto::cmd_of(st.op);
        auto c = command(cmd);
        c.child = index_.at(st.child);
        c.flags = st.flags | st.raw_flags;
        c.exit_signal = st.exit_signal;
        auto r = call(actor, c, d);
        if (!r) return {};
        if (r->ret < 0) return from_ret(r->ret);
        Task& child = task(st.child);
        accept_child(child, d);
        if (cmd == proto::Cmd::ThreadCreate || (cmd != proto::Cmd::Fork && (c.flags & names::CF_FILES)))
            child.fds = actor.fds;
        else
            child.fds = std::make_shared<FdTable>(*actor.fds);
        // The pidfd is installed in the creator's table after the table was copied.
        if (r->pidfd >= 0 && !st.new_fd.empty()) (*actor.fds)[st.new_fd] = r->pidfd;
        Observation o;
        o.ret = scenario::Ret{true, 0};
        return o;
    }

    Observation wait(Task& actor, const Step& st, const Deadline& d) {
        std::string err;
        auto c = command(proto::cmd_of(st.op));
        c.flags = st.options;
        if (st.op == Op::Waitid)
            c.idtype = st.idtype == scenario::IdType::All   ? P_ALL
                       : st.idtype == scenario::IdType::Pid ? P_PID
                                                            : proto::kP_PIDFD;
        if (st.op == Op::Waitid && st.idtype == scenario::IdType::Pidfd) {
            auto it = actor.fds->find(st.fd);
            if (it == actor.fds->end()) return error_obs(fd_not_open(st.fd, st.task));
            c.fd = it->second;
        } else if (st.target_any) {
            c.pid = st.op == Op::Waitpid ? -1 : 0;
        } else {
            c.pid = pid_of_target(actor, st.target, err);
            if (!err.empty()) return error_obs(err);
        }
        auto r = call(actor, c, d);
        if (!r) return {};
        if (r->would_block) return error_obs(kWouldBlock);
        if (r->ret < 0) return from_ret(r->ret);
        pid_t reported = st.op == Op::Waitpid ? static_cast<pid_t>(r->ret) : r->child_pid;
        if (reported == 0) return from_ret(0);  // WNOHANG, nothing to report
        Observation o;
        o.ret = scenario::Ret{true, 0};
        o.pid = name_in(actor, reported);
        if (!o.pid) o.pid = "pid" + std::to_string(reported);  // not a scenario task: shows up as a mismatch
        if (st.op == Op::Waitpid) {
            if (WIFEXITED(r->value) || WIFSIGNALED(r->value)) o.status = wait_status(static_cast<int>(r->value));
        } else if (r->child_code == CLD_EXITED) {
            o.status = scenario::WaitStatus{false, r->child_status};
        } else if (r->child_code == CLD_KILLED || r->child_code == CLD_DUMPED) {
            o.status = scenario::WaitStatus{true, r->child_status};
        }
        return o;
    }

    Observation prctl(Task& actor, const Step& st, const Deadline& d) {
        auto c = command(proto::cmd_of(st.op));
        using P = scenario::PrctlOption;
        bool getter = false;
        switch (st.prctl) {
            case P::SetChildSubreaper: c.option = proto::kPR_SET_CHILD_SUBREAPER; break;
            case P::GetChildSubreaper: c.option = proto::kPR_GET_CHILD_SUBREAPER, getter = true; break;
            case P::SetNoNewPrivs: c.option = proto::kPR_SET_NO_NEW_PRIVS; break;
            case P::GetNoNewPrivs: c.option = proto::kPR_GET_NO_NEW_PRIVS, getter = true; break;
            case P::SetPdeathsig: c.option = proto::kPR_SET_PDEATHSIG; break;
            case P::GetPdeathsig: c.option = proto::kPR_GET_PDEATHSIG, getter = true; break;
        }
        c.value = st.value;
        auto r = call(actor, c, d);
        if (!r) return {};
        auto o = from_ret(r->ret);
        if (getter && r->ret >= 0) o.value = r->value;
        return o;
    }

    Observation execve(Task& actor, const Step& st, const Deadline& d) {
        auto c = command(proto::cmd_of(st.op));
        c.setuid_root = st.setuid_root ? 1 : 0;
        c.keep_fds = st.keep_fds ? 1 : 0;
        std::vector<int> numbers;
        for (const auto& [name, fd] : *actor.fds)
            if (std::find(numbers.begin(), numbers.end(), fd) == numbers.end()) numbers.push_back(fd);
        if (numbers.size() > static_cast<size_t>(proto::kMaxFds))
            throw Abort(where_ + ": more than " + std::to_string(proto::kMaxFds) + " fds open across execve");
        c.nfds = static_cast<int>(numbers.size());
        std::copy(numbers.begin(), numbers.end(), c.fds);
        auto r = call(actor, c, d, /*watch=*/false);
        if (!r) return {};
        if (r->ret < 0) return from_ret(r->ret);
        // The exec succeeded. The task has a table of its own now, holding what
        // was not close-on-exec; every other thread of its group is gone.
        auto table = std::make_shared<FdTable>();
        for (const auto& [name, fd] : *actor.fds)
            if (std::find(r->fds, r->fds + r->nfds, fd) != r->fds + r->nfds) (*table)[name] = fd;
        actor.fds = table;
        for (auto& t : tasks_)
            if (t.get() != &actor && t->created && !t->released && t->tgid == actor.tgid) t->must_die = true;
        if (actor.tid != actor.tgid) {
            // A non-leader exec takes over the leader's pid; the old leader is
            // released under the exec'ing thread's old tid.
            for (auto& t : tasks_) {
                if (t.get() == &actor || !t->created || t->tid != actor.tgid) continue;
                std::swap(t->tid, actor.tid);
                std::swap(t->nspid, actor.nspid);
                std::swap(t->pidfd, actor.pidfd);
            }
            if (actor.tid != actor.tgid) {  // the leader was not a scenario task
                actor.tid = actor.tgid;
                if (auto s = procfs::read_status(actor.tgid, actor.tid)) actor.nspid = s->nspid;
                if (actor.pidfd >= 0) close(actor.pidfd);
                actor.pidfd = procfs::open_watch(actor.tid, true);
            }
        }
        auto o = from_ret(0);
        o.euid = static_cast<int>(r->value);
        return o;
    }

    Observation observe_task(Task& t) {
        if (!t.created) return error_obs(never_created(t.name));
        Life life = Life::Running;
        auto o = procfs::observe(t, [this](pid_t p) { return name_of_global(p); }, &life);
        if (o.state == "running" && life == Life::Running && t.ctl >= 0) {
            auto r = call(t, command(proto::Cmd::GetSubreaper), step_deadline());
            if (r && r->ret >= 0) o.subreaper = r->value != 0;
        }
        return o;
    }

    const scenario::Scenario& s_;
    const RunOptions& opts_;
    std::string socket_path_;
    const std::string& helper_;
    const std::string& helper_suid_;
    std::vector<std::unique_ptr<Task>> tasks_;
    std::map<std::string, int> index_;
    int listen_fd_ = -1;
    bool bound_ = false;
    pid_t init_pid_ = 0;
    Clock::time_point scenario_deadline_;
    std::string where_ = "setup";
};

// A directory for the helpers on a filesystem that honours setuid bits.
std::string helper_parent(const std::string& wanted) {
    std::vector<std::string> candidates;
    if (!wanted.empty()) return wanted;
    if (const char* t = std::getenv("TMPDIR"); t && *t) candidates.push_back(t);
    candidates.insert(candidates.end(), {"/tmp", "/var/tmp"});
    for (const auto& c : candidates) {
        struct statvfs v{};
        if (statvfs(c.c_str(), &v) == 0 && !(v.f_flag & ST_NOSUID) && access(c.c_str(), W_OK) == 0) return c;
    }
    throw std::runtime_error("no writable directory without nosuid for the exec helpers (tried $TMPDIR, /tmp, /var/tmp)");
}

void copy_file(const std::string& from, const std::string& to, mode_t mode) {
    std::error_code ec;
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec) throw std::runtime_error("cannot copy " + from + " to " + to + ": " + ec.message());
    if (chown(to.c_str(), 0, 0) != 0 && (mode & S_ISUID))
        throw std::runtime_error(errno_text("chown root " + to));
    if (chmod(to.c_str(), mode) != 0) throw std::runtime_error(errno_text("chmod " + to));
}

// Removes the helper directories that executors killed by SIGKILL left behind
// in `parent` (with a setuid-root copy of this binary in each). A directory is
// in use while its lock file is flock'd: by its executor and the puppets that
// inherited the descriptor. The lock file appears, already locked, by rename;
// a directory without one is taken only once it is a minute old (an executor
// between mkdtemp and its rename, or one from before the lock files).
void remove_stale_helper_dirs(const std::string& parent) {
    std::error_code ec;
    for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
        const auto name = it->path().filename().string();
        if (name.rfind("pidlab-oracle.", 0) != 0) continue;
        struct stat st{};
        if (lstat(it->path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) continue;
        const auto lock = it->path() / "lock";
        int fd = open(lock.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        bool stale;
        if (fd >= 0) {
            stale = flock(fd, LOCK_EX | LOCK_NB) == 0;
            close(fd);
        } else {
            stale = errno == ENOENT && std::time(nullptr) - st.st_mtime > 60;
        }
        if (stale) {
            std::error_code rm;
            fs::remove_all(it->path(), rm);
        }
    }
}

}  // namespace

Executor::Executor(RunOptions opts) : opts_(std::move(opts)), kernel_(kernel_release()) {
    remove_stale_helper_dirs(helper_parent(opts_.tmpdir));
    auto base = helper_parent(opts_.tmpdir) + "/pidlab-oracle.XXXXXX";
    std::vector<char> buf(base.begin(), base.end());
    buf.push_back(0);
    if (!mkdtemp(buf.data())) throw std::runtime_error(errno_text("mkdtemp " + base));
    dir_ = buf.data();
    {
        const auto tmp = dir_ + "/lock.new";
        lock_fd_ = open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (lock_fd_ < 0 || flock(lock_fd_, LOCK_EX) != 0 || rename(tmp.c_str(), (dir_ + "/lock").c_str()) != 0) {
            auto why = errno_text("lock file in " + dir_);
            if (lock_fd_ >= 0) close(lock_fd_);
            fs::remove_all(dir_);
            throw std::runtime_error(why);
        }
    }
    struct stat parent{};
    if (stat(fs::path(dir_).parent_path().c_str(), &parent) == 0 && !(parent.st_mode & S_IXOTH))
        std::fprintf(stderr,
                     "pidlab-oracle: warning: %s is not searchable by other users: tasks that drop root "
                     "cannot reach the helpers\n",
                     fs::path(dir_).parent_path().c_str());
    // Tasks that dropped to another uid must still reach the helpers and the socket.
    chmod(dir_.c_str(), 0711);
    helper_ = dir_ + "/helper";
    helper_suid_ = dir_ + "/helper-suid";
    try {
        copy_file("/proc/self/exe", helper_, 0755);
        copy_file("/proc/self/exe", helper_suid_, 04755);
    } catch (...) {
        fs::remove_all(dir_);
        close(lock_fd_);
        throw;
    }
    procfs::features();  // probe now, before any scenario
    set_path(g_emergency.dir, dir_);
    set_path(g_emergency.helper, helper_);
    set_path(g_emergency.helper_suid, helper_suid_);
    set_path(g_emergency.lock, dir_ + "/lock");
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) signal(sig, on_stop_signal);
}

Executor::~Executor() {
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) signal(sig, SIG_DFL);
    g_emergency = {};
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (lock_fd_ >= 0) close(lock_fd_);
}

Profile& profile() {
    static Profile p;
    return p;
}

Profile Profile::snapshot() {
    Profile p = profile();
    p.proc_reads = procfs::proc_reads();
    p.proc_read_ms = procfs::proc_read_ms();
    rusage self{}, kids{};
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    auto ms_of = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) * 1e-3; };
    p.self_user_ms = ms_of(self.ru_utime);
    p.self_sys_ms = ms_of(self.ru_stime);
    p.tasks_user_ms = ms_of(kids.ru_utime);
    p.tasks_sys_ms = ms_of(kids.ru_stime);
    p.self_minflt = self.ru_minflt;
    p.tasks_minflt = kids.ru_minflt;
    return p;
}

Profile& Profile::operator+=(const Profile& o) {
    for (int i = 0; i < kPhases; ++i) {
        ms[i] += o.ms[i];
        n[i] += o.n[i];
    }
    call_slices += o.call_slices;
    scenarios += o.scenarios;
    proc_reads += o.proc_reads;
    proc_read_ms += o.proc_read_ms;
    self_user_ms += o.self_user_ms;
    self_sys_ms += o.self_sys_ms;
    tasks_user_ms += o.tasks_user_ms;
    tasks_sys_ms += o.tasks_sys_ms;
    self_minflt += o.self_minflt;
    tasks_minflt += o.tasks_minflt;
    return *this;
}

std::string Profile::summary() const {
    static const char* const names[kPhases] = {"load", "setup", "steps", "settle", "final", "teardown", "output"};
    const double per = scenarios > 0 ? 1.0 / static_cast<double>(scenarios) : 0;
    double total = 0;
    std::string out = "pidlab-oracle profile: " + std::to_string(scenarios) + " scenarios, ms per scenario:";
    char buf[160];
    for (int i = 0; i < kPhases; ++i) {
        total += ms[i];
        std::snprintf(buf, sizeof buf, " %s %.2f (%ld)", names[i], ms[i] * per, n[i]);
        out += buf;
    }
    std::snprintf(buf, sizeof buf, "; total %.2f; /proc examinations %.1f, stat/status reads %.2f ms, 2 ms slices %.1f per scenario",
                  total * per, static_cast<double>(proc_reads) * per, proc_read_ms * per,
                  static_cast<double>(call_slices) * per);
    out += buf;
    std::snprintf(buf, sizeof buf, "; cpu ms per scenario: executor user %.2f sys %.2f, tasks user %.2f sys %.2f",
                  self_user_ms * per, self_sys_ms * per, tasks_user_ms * per, tasks_sys_ms * per);
    out += buf;
    std::snprintf(buf, sizeof buf, "; minor faults per scenario: executor %.1f, tasks %.1f",
                  static_cast<double>(self_minflt) * per, static_cast<double>(tasks_minflt) * per);
    out += buf;
    // The whole machine (in a VM: idle is time the vCPUs had nothing to run).
    if (FILE* f = std::fopen("/proc/stat", "r")) {
        unsigned long long v[8] = {};
        if (std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                        &v[6], &v[7]) == 8) {
            std::snprintf(buf, sizeof buf, "; /proc/stat since boot (ticks): user %llu system %llu idle %llu irq %llu softirq %llu",
                          v[0] + v[1], v[2], v[3] + v[4], v[5], v[6]);
            out += buf;
        }
        std::fclose(f);
    }
    return out;
}

scenario::RunResult Executor::run(const scenario::Scenario& s) {
    auto sock = dir_ + "/ctl-" + std::to_string(serial_++) + ".sock";
    ScenarioRun run(s, opts_, sock, helper_, helper_suid_);
    return run.run(kernel_);
}

scenario::RunResult Executor::run_file(const std::string& path) {
    try {
        PhaseTimer pt(Profile::Load);
        auto s = scenario::load_scenario_file(path);
        pt.stop();
        ++profile().scenarios;
        return run(s);
    } catch (const scenario::FormatError& e) {
        std::fprintf(stderr, "pidlab-oracle: %s\n", e.what());
        scenario::RunResult r;
        r.scenario = fs::path(path).stem().string();
        r.file = path;
        r.kernel = kernel_;
        r.aborted = std::string("format error: ") + e.what();
        return r;
    }
}

}  // namespace pidlab::oracle
