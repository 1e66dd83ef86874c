// fs/file.c (fd tables, fput), kernel/pid.c (pidfd_open), fs/pidfs.c (poll,
// PIDFD_GET_INFO, pidfs_exit, pidfs_file_release: autokill).
#include <algorithm>

#include "format/names.hpp"
#include "model/kernel.hpp"

namespace pidlab::model {

using namespace pidlab::names;

namespace {
constexpr int ENOENT_ = 2, ESRCH_ = 3, EBADF_ = 9, EINVAL_ = 22, EMFILE_ = 24;
constexpr size_t kMaxFds = 256;

}  // namespace

const FdEntry* Kernel::fd_entry(TaskId t, int fd) const {
    const FdTable* tab = table_of(t);
    if (!tab) return nullptr;
    for (const auto& e : tab->entries)
        if (e.fd == fd) return &e;
    return nullptr;
}

// fs/pidfs.c: pidfs_alloc_file (a new struct file; its address may be a released file's)
int Kernel::alloc_file(TaskId pid, bool thread, bool nonblock, bool autokill, bool clone3) {
    File f;
    f.refs = 1;
    f.pid = pid;
    f.thread = thread;
    f.nonblock = nonblock;
    f.autokill = autokill;
    f.clone3 = clone3;
    if (!free_addrs_.empty()) {
        f.addr = free_addrs_.back();  // the slab hands out the most recently freed object
        free_addrs_.pop_back();
    } else {
        f.addr = next_addr_++;
    }
    files_.push_back(f);
    tasks_[pid].pidfs_registered = true;  // pidfs_register_pid
    return static_cast<int>(files_.size() - 1);
}

// fs/file.c: alloc_fd + fd_install (lowest free number; 0-2 are stdio)
int Kernel::fd_install(int table, int file, bool cloexec) {
    auto& e = tables_[table].entries;
    int fd = 3;
    for (const auto& x : e) {
        if (x.fd == fd) ++fd;
        else if (x.fd > fd) break;
    }
    FdEntry ne{fd, file, cloexec};
    e.insert(std::upper_bound(e.begin(), e.end(), ne, [](const FdEntry& a, const FdEntry& b) { return a.fd < b.fd; }), ne);
    return fd;
}

// kernel/fork.c: dup_fd (copy_files without CLONE_FILES)
int Kernel::copy_fd_table(int table) {
    FdTable t = tables_[table];
    t.users = 1;
    for (const auto& e : t.entries) files_[e.file].refs++;
    tables_.push_back(t);
    return static_cast<int>(tables_.size() - 1);
}

// fs/file.c: put_files_struct -> close_files
void Kernel::put_fd_table(int table) {
    if (--tables_[table].users > 0) return;
    std::vector<FdEntry> entries;
    entries.swap(tables_[table].entries);
    for (const auto& e : entries) fput(e.file);
}

// fs/file_table.c: fput -> __fput -> f_op->release
void Kernel::fput(int file) {
    File& f = files_[file];
    if (--f.refs > 0) return;
    f.released = true;
    pidfs_file_release(file);
    free_addrs_.push_back(files_[file].addr);
}

// fs/pidfs.c: pidfs_file_release (v4 on: PIDFD_AUTOKILL in f_flags; v2/v3: signal->autokill_pidfd)
void Kernel::pidfs_file_release(int file) {
    const File& f = files_[file];
    if (profile_.autokill == AutokillIdentity::None) return;
    if (profile_.autokill == AutokillIdentity::FileFlag && !f.autokill) return;
    // task = pid_task(pid, PIDTYPE_TGID)
    TaskId task = f.pid;
    if (tasks_[task].exit_state == ExitState::Released || !thread_group_leader(task)) return;
    if (profile_.autokill == AutokillIdentity::SignalPointer &&
        signals_[tasks_[task].signal].autokill_pidfd != f.addr)
        return;
    events.push_back({Event::AutokillSent, file, task, f.creator_caps});
    // do_send_sig_info(SIGKILL, SEND_SIG_PRIV, task, PIDTYPE_TGID): no permission check, forced
    bool was_alive = !signals_[tasks_[task].signal].group_exit;
    send_signal(task, kSIGKILL, true, true);
    if (was_alive) {
        for (TaskId th : signals_[tasks_[task].signal].threads) {
            tasks_[th].autokilled = true;
            tasks_[th].last_rule = "fs/pidfs.c: pidfs_file_release (autokill)";
        }
    }
}

// fs/pidfs.c: pidfs_exit (called from release_task since 6.15)
void Kernel::pidfs_exit(TaskId p) {
    if (!profile_.pidfd_info_exit()) return;
    Task& t = tasks_[p];
    if (!t.pidfs_registered) return;  // PIDFS_PID_DEAD: no pidfd was ever taken
    t.pidfs_has_exit = true;
    t.pidfs_exit_code = t.exit_code;
}

int Kernel::pidfd_file(TaskId current, int fd, int& err) const {
    const FdEntry* e = fd_entry(current, fd);
    if (!e) {
        err = EBADF_;
        return -1;
    }
    return e->file;
}

// kernel/pid.c: SYSCALL pidfd_open -> pidfd_prepare
SysRet Kernel::sys_pidfd_open(TaskId current, TaskId target, unsigned flags) {
    unsigned allowed = kPIDFD_NONBLOCK | (profile_.pidfs() ? kPIDFD_THREAD : 0);
    if (flags & ~allowed) return fail(EINVAL_, "kernel/pid.c: pidfd_open (unknown flag)");
    if (target == kNoTask || tasks_[target].exit_state == ExitState::Released)
        return fail(ESRCH_, "kernel/pid.c: pidfd_open (no such process)");
    bool thread = flags & kPIDFD_THREAD;
    if (!thread && !thread_group_leader(target)) {
        if (profile_.pidfd_open_enoent())
            return fail(ENOENT_, "kernel/fork.c: pidfd_prepare (not a thread-group leader)");
        return fail(EINVAL_, "kernel/fork.c: pidfd_prepare (not a thread-group leader)");
    }
    if (tables_[tasks_[current].files].entries.size() >= kMaxFds) return fail(EMFILE_, "fs/file.c: alloc_fd");
    int f = alloc_file(target, thread, flags & kPIDFD_NONBLOCK, false, false);
    SysRet r;
    r.fd = fd_install(tasks_[current].files, f, true);  // pidfds are O_CLOEXEC
    r.ret = r.fd;
    r.returns_id = true;
    r.rule = "kernel/pid.c: pidfd_open";
    return r;
}

// fs/open.c: close_fd
SysRet Kernel::sys_close(TaskId current, int fd) {
    auto& e = tables_[tasks_[current].files].entries;
    auto it = std::find_if(e.begin(), e.end(), [fd](const FdEntry& x) { return x.fd == fd; });
    if (it == e.end()) return fail(EBADF_, "fs/open.c: close_fd (not open)");
    int file = it->file;
    e.erase(it);
    fput(file);
    SysRet r;
    r.rule = files_[file].released ? "fs/file_table.c: fput (last reference: release)" : "fs/file_table.c: fput";
    return r;
}

// fs/file.c: dup — a new fd for the same file, without FD_CLOEXEC
SysRet Kernel::sys_dup(TaskId current, int fd) {
    const FdEntry* e = fd_entry(current, fd);
    if (!e) return fail(EBADF_, "fs/file.c: dup (not open)");
    int file = e->file;
    files_[file].refs++;
    SysRet r;
    r.fd = fd_install(tasks_[current].files, file, false);
    r.ret = r.fd;
    r.returns_id = true;
    r.rule = "fs/file.c: dup";
    return r;
}

// fs/pidfs.c: pidfd_poll, by kernel version
unsigned Kernel::pidfd_poll(int file) const {
    const File& f = files_[file];
    const Task& t = tasks_[f.pid];
    bool gone = t.exit_state == ExitState::Released;
    bool exited = t.exit_state != ExitState::Running;  // task->exit_state is set
    if (!profile_.pidfs()) {
        // 5.3-6.8: thread_group_exited(): gone, or an exited leader with an empty group; no EPOLLHUP
        return (gone || (exited && thread_group_empty(f.pid))) ? P_IN : 0;
    }
    if (gone) return P_IN | P_HUP;
    if (!exited) return 0;
    if (profile_.poll_excludes_delayed_leader()) return delay_group_leader(f.pid) ? 0 : P_IN;
    return (f.thread || thread_group_empty(f.pid)) ? P_IN : 0;
}

// fs/select.c: do_poll with events = POLLIN and a zero timeout
SysRet Kernel::sys_poll(TaskId current, int fd) {
    SysRet r;
    const FdEntry* e = fd_entry(current, fd);
    unsigned rev = e ? pidfd_poll(e->file) : P_NVAL;
    // poll reports the requested events plus POLLERR|POLLHUP|POLLNVAL (EPOLLRDNORM is masked out)
    rev &= P_IN | P_ERR | P_HUP | P_NVAL;
    r.revents = rev;
    r.ret = rev ? 1 : 0;
    r.rule = e ? "fs/pidfs.c: pidfd_poll" : "fs/select.c: do_pollfd (not an open fd)";
    return r;
}

// fs/pidfs.c: pidfd_ioctl(PIDFD_GET_INFO) -> pidfd_info, with mask = PIDFD_INFO_EXIT
SysRet Kernel::sys_pidfd_get_info(TaskId current, int fd) {
    int err = 0;
    int f = pidfd_file(current, fd, err);
    if (f < 0) return fail(err, "fs/ioctl.c: ioctl (not open)");
    if (!profile_.pidfd_get_info())
        return fail(profile_.get_info_missing_errno(),
                    profile_.get_info_missing_errno() == 25 ? "fs/ioctl.c: vfs_ioctl (pidfds have no ioctl before 6.11)"
                                                            : "fs/pidfs.c: pidfd_ioctl (unknown command, non-zero argument)");
    const Task& t = tasks_[files_[f].pid];
    bool gone = t.exit_state == ExitState::Released;
    SysRet r;
    r.has_info_exit = true;
    if (profile_.pidfd_info_exit()) {
        if (t.pidfs_has_exit) r.info_exit = t.pidfs_exit_code;
        r.rule = gone ? "fs/pidfs.c: pidfd_info (reaped: exit information only)" : "fs/pidfs.c: pidfd_info (not reaped: no exit information)";
        return r;
    }
    if (gone) return fail(ESRCH_, "fs/pidfs.c: pidfd_ioctl (the task is gone; no PIDFD_INFO_EXIT before 6.15)");
    r.rule = "fs/pidfs.c: pidfd_info";
    return r;
}

}  // namespace pidlab::model
