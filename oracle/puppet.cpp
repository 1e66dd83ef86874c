// The puppet loop (see puppet.hpp). Compiled with -fno-stack-protector: the
// canary lives in TLS, which a CLONE_SETTLS child does not have.
#include "oracle/puppet.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cstddef>
#include <cstdint>

#include "oracle/protocol.hpp"

#if !defined(__x86_64__)
#error "the oracle's puppet is written for x86_64 (raw syscalls and the clone trampolines)"
#endif

namespace pidlab::oracle::puppet {
namespace {

using proto::Cmd;
using proto::Command;
using proto::Reply;

// ---- raw system calls (return the kernel's value: >= 0 or -errno) -----------

inline long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
    long ret;
    register long r10 asm("r10") = d;
    register long r8 asm("r8") = e;
    register long r9 asm("r9") = f;
    asm volatile("syscall"
                 : "=a"(ret)
                 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                 : "rcx", "r11", "memory");
    return ret;
}
template <class T>
long L(T v) {
    return (long)v;
}

[[noreturn]] void die(int code) {
    for (;;) sys(SYS_exit, code);
}

// ---- kernel ABI bits not every header has -------------------------------------

struct CloneArgs {  // struct clone_args, CLONE_ARGS_SIZE_VER0
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};
static_assert(sizeof(CloneArgs) == 64);

struct KSigaction {  // the kernel's struct sigaction (x86_64)
    void* handler;
    unsigned long flags;
    void (*restorer)();
    uint64_t mask;
};
constexpr unsigned long kSA_RESTORER = 0x04000000;

struct PidfdInfo {  // struct pidfd_info, PIDFD_INFO_SIZE_VER0
    uint64_t mask, cgroupid;
    uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
    int32_t exit_code;
};
static_assert(sizeof(PidfdInfo) == 64);
constexpr unsigned long kPIDFD_GET_INFO = (3UL << 30) | (sizeof(PidfdInfo) << 16) | (0xFFUL << 8) | 11;  // _IOWR(0xFF, 11, ..)
constexpr uint64_t kPIDFD_INFO_EXIT = 1UL << 3;

struct CapHeader {
    uint32_t version;
    int pid;
};
struct CapData {
    uint32_t effective, permitted, inheritable;
};
constexpr uint32_t kCapVersion3 = 0x20080522;

constexpr long kPR_SET_KEEPCAPS = 8;
constexpr uint64_t kThreadFlags = 0x100 /*VM*/ | 0x200 /*FS*/ | 0x400 /*FILES*/ | 0x800 /*SIGHAND*/ |
                                  0x10000 /*THREAD*/ | 0x40000 /*SYSVSEM*/;
constexpr uint64_t kCLONE_VM = 0x100, kCLONE_FILES = 0x400, kCLONE_PIDFD = 0x1000;
constexpr size_t kStackSize = 256 * 1024;

// sa_restorer for the `catch` handler (it never runs: puppets block every signal).
extern "C" void pidlab_puppet_sigreturn();
asm(".text\n"
    ".globl pidlab_puppet_sigreturn\n"
    "pidlab_puppet_sigreturn:\n"
    "  mov $15, %rax\n"  // rt_sigreturn
    "  syscall\n"
    "  hlt\n");
void catch_handler(int) {}

// ---- configuration (inherited by every puppet) ---------------------------------

char g_socket[sizeof(sockaddr_un::sun_path)];
char g_helper[2][512];  // [0] plain, [1] setuid root

void str_copy(char* dst, size_t cap, const char* src) {
    size_t i = 0;
    for (; src[i] && i + 1 < cap; ++i) dst[i] = src[i];
    dst[i] = 0;
}
// Decimal rendering into buf (at least 24 bytes); returns the end.
char* put_int(char* buf, long v) {
    char tmp[24];
    int n = 0;
    bool neg = v < 0;
    unsigned long u = neg ? 0UL - (unsigned long)v : (unsigned long)v;
    do tmp[n++] = char('0' + u % 10), u /= 10;
    while (u);
    if (neg) *buf++ = '-';
    while (n) *buf++ = tmp[--n];
    *buf = 0;
    return buf;
}
long parse_int(const char* s) {
    long v = 0;
    bool neg = *s == '-';
    if (neg) ++s;
    while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
    return neg ? -v : v;
}

void block_all_signals() {
    uint64_t all = ~0ULL;
    sys(SYS_rt_sigprocmask, SIG_SETMASK, L(&all), 0, 8);
}

// A new channel to the controller, kept at a high fd number with FD_CLOEXEC.
long connect_controller() {
    long s = sys(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0) return s;
    sockaddr_un a;
    a.sun_family = AF_UNIX;
    str_copy(a.sun_path, sizeof a.sun_path, g_socket);
    long r = sys(SYS_connect, s, L(&a), sizeof a);
    if (r < 0) {
        sys(SYS_close, s);
        return r;
    }
    long hi = sys(SYS_fcntl, s, F_DUPFD_CLOEXEC, proto::kCtlFdBase);
    if (hi >= 0) {
        sys(SYS_close, s);
        s = hi;
    }
    return s;
}

void send_reply(long ctl, Reply& r) {
    r.magic = proto::kMagic;
    sys(SYS_sendto, ctl, L(&r), sizeof r, MSG_NOSIGNAL, 0, 0);
}

Reply blank_reply() {
    Reply r;
    __builtin_memset(&r, 0, sizeof r);
    r.kind = proto::Kind::Reply;
    r.pidfd = -1;
    return r;
}

[[noreturn]] void serve(long ctl);

// ---- creating tasks ------------------------------------------------------------

struct ChildStart {
    int32_t child;         // the new task's index
    int32_t parent_ctl;    // the creator's channel: closed unless the fd table is shared
    int32_t shared_files;  // CLONE_FILES
};

// Kept at the top of a fresh mapping: with CLONE_VM the creator goes on while
// the child reads it, so it must not live in the creator's stack frame.
struct ChildRegion {
    ChildStart start;
    int32_t pidfd;      // clone3 CLONE_PIDFD; legacy clone writes the pidfd to parent_tid
    int32_t parent_tid;
    int32_t child_tid;  // CLONE_CHILD_SETTID / CLONE_CHILD_CLEARTID land here
};

[[noreturn]] void child_entry(ChildStart* cs) {
    if (!cs->shared_files) sys(SYS_close, cs->parent_ctl);
    long ctl = connect_controller();
    if (ctl < 0) die(126);
    Reply hello = blank_reply();
    hello.kind = proto::Kind::Hello;
    hello.child = cs->child;
    hello.tid = (int32_t)sys(SYS_gettid);
    send_reply(ctl, hello);
    serve(ctl);
}

// clone3 / clone whose child calls child_entry(cs) on the stack it was given
// (or, without one, on its copy of the caller's). The child never returns here.
__attribute__((noinline)) long clone3_trampoline(CloneArgs* args, ChildStart* cs) {
    long ret;
    asm volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "sub $512, %%rsp\n\t"
        "and $-16, %%rsp\n\t"
        "xor %%ebp, %%ebp\n\t"
        "mov %[cs], %%rdi\n\t"
        "call *%[entry]\n\t"
        "ud2\n"
        "1:\n\t"
        : "=a"(ret)
        : "a"(long(SYS_clone3)), "D"(args), "S"(long(sizeof(CloneArgs))), [cs] "r"(cs), [entry] "r"(&child_entry)
        : "rcx", "r11", "memory");
    return ret;
}

__attribute__((noinline)) long clone_trampoline(unsigned long flags, void* sp, int32_t* ptid, int32_t* ctid,
                                                ChildStart* cs) {
    long ret;
    register long r10 asm("r10") = L(ctid);
    register long r8 asm("r8") = 0;  // tls
    asm volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "sub $512, %%rsp\n\t"
        "and $-16, %%rsp\n\t"
        "xor %%ebp, %%ebp\n\t"
        "mov %[cs], %%rdi\n\t"
        "call *%[entry]\n\t"
        "ud2\n"
        "1:\n\t"
        : "=a"(ret)
        : "a"(long(SYS_clone)), "D"(flags), "S"(sp), "d"(ptid), "r"(r10), "r"(r8), [cs] "r"(cs),
          [entry] "r"(&child_entry)
        : "rcx", "r11", "memory");
    return ret;
}

// fork / clone3 / clone / thread_create. The reply carries the pid (or -errno)
// and the pidfd number; the child introduces itself with a Hello.
void create(long ctl, const Command& c, Reply& r) {
    uint64_t flags = c.cmd == Cmd::ThreadCreate ? kThreadFlags : c.flags;
    if (c.cmd == Cmd::Fork) {
        ChildStart cs{c.child, int32_t(ctl), 0};
        long pid = sys(SYS_fork);
        if (pid == 0) child_entry(&cs);
        r.ret = pid;
        return;
    }
    long map = sys(SYS_mmap, 0, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (map < 0) {
        r.ret = map;
        return;
    }
    auto top = uintptr_t(map) + kStackSize;
    auto* region = reinterpret_cast<ChildRegion*>((top - sizeof(ChildRegion)) & ~uintptr_t(63));
    region->start = ChildStart{c.child, int32_t(ctl), (flags & kCLONE_FILES) ? 1 : 0};
    region->pidfd = -1;
    uintptr_t sp = uintptr_t(region) & ~uintptr_t(15);
    bool own_stack = flags & kCLONE_VM;
    long pid;
    if (c.cmd == Cmd::Clone) {
        unsigned long legacy = flags | (uint64_t(c.exit_signal) & 0xff);
        pid = clone_trampoline(legacy, own_stack ? reinterpret_cast<void*>(sp) : nullptr, &region->pidfd,
                               &region->child_tid, &region->start);
    } else {
        CloneArgs a;
        __builtin_memset(&a, 0, sizeof a);
        a.flags = flags;
        a.exit_signal = c.cmd == Cmd::ThreadCreate ? 0 : uint64_t(uint32_t(c.exit_signal));
        a.pidfd = uint64_t(uintptr_t(&region->pidfd));
        a.parent_tid = uint64_t(uintptr_t(&region->parent_tid));
        a.child_tid = uint64_t(uintptr_t(&region->child_tid));
        if (own_stack) {
            a.stack = uint64_t(map);
            a.stack_size = sp - uintptr_t(map);
        }
        pid = clone3_trampoline(&a, &region->start);
    }
    r.ret = pid;
    if (pid > 0 && (flags & kCLONE_PIDFD)) r.pidfd = region->pidfd;
    // A child that shares our memory runs on this mapping; any other child has its own copy.
    if (pid < 0 || !own_stack) sys(SYS_munmap, map, kStackSize);
}

// ---- credentials ------------------------------------------------------------------

long capset_all(bool keep) {
    CapHeader h{kCapVersion3, 0};
    CapData d[2];
    __builtin_memset(d, 0, sizeof d);
    if (keep) {
        long r = sys(SYS_capget, L(&h), L(d));
        if (r < 0) return r;
        for (auto& x : d) x.effective = x.permitted;
    }
    return sys(SYS_capset, L(&h), L(d));
}

long set_ids(long uid) {
    long r = sys(SYS_setresgid, uid, uid, uid);
    if (r < 0) return r;
    return sys(SYS_setresuid, uid, uid, uid);
}

// T's credentials from the scenario's `root`.
long setup_root(long uid, bool caps) {
    if (uid != 0) {
        if (caps) sys(SYS_prctl, kPR_SET_KEEPCAPS, 1, 0, 0, 0);
        long r = set_ids(uid);
        if (r < 0) return r;
        if (caps) {
            sys(SYS_prctl, kPR_SET_KEEPCAPS, 0, 0, 0, 0);
            return capset_all(true);
        }
    }
    return caps ? 0 : capset_all(false);
}

// ---- execve of the helper ----------------------------------------------------------

void do_execve(long ctl, const Command& c, Reply& r) {
    int saved[proto::kMaxFds];
    int n = c.nfds < 0 ? 0 : c.nfds > proto::kMaxFds ? proto::kMaxFds : c.nfds;
    for (int i = 0; i < n; ++i) {
        saved[i] = int(sys(SYS_fcntl, c.fds[i], F_GETFD));
        if (c.keep_fds && saved[i] >= 0) sys(SYS_fcntl, c.fds[i], F_SETFD, saved[i] & ~FD_CLOEXEC);
    }
    char ctlbuf[24], fdbuf[proto::kMaxFds * 12 + 2];
    put_int(ctlbuf, ctl);
    char* p = fdbuf;
    if (n == 0) *p++ = '-', *p = 0;
    for (int i = 0; i < n; ++i) {
        if (i) *p++ = ',';
        p = put_int(p, c.fds[i]);
    }
    const char* path = g_helper[c.setuid_root ? 1 : 0];
    const char* argv[] = {path, "puppet-exec", ctlbuf, g_socket, g_helper[0], g_helper[1], fdbuf, nullptr};
    const char* envp[] = {nullptr};
    sys(SYS_fcntl, ctl, F_SETFD, 0);
    r.ret = sys(SYS_execve, L(path), L(argv), L(envp));
    // Still here: the exec failed. Put the fd flags back as they were.
    sys(SYS_fcntl, ctl, F_SETFD, FD_CLOEXEC);
    for (int i = 0; i < n; ++i)
        if (saved[i] >= 0) sys(SYS_fcntl, c.fds[i], F_SETFD, saved[i]);
}

// ---- one command ---------------------------------------------------------------------

void perform(long ctl, const Command& c, Reply& r) {
    switch (c.cmd) {
        case Cmd::Fork:
        case Cmd::Clone3:
        case Cmd::Clone:
        case Cmd::ThreadCreate: create(ctl, c, r); return;
        case Cmd::Exit: die(c.code);
        case Cmd::ExitGroup:
            for (;;) sys(SYS_exit_group, c.code);
        case Cmd::Kill: r.ret = sys(SYS_kill, c.pid, c.sig); return;
        case Cmd::PidfdSendSignal: r.ret = sys(SYS_pidfd_send_signal, c.fd, c.sig, 0, 0); return;
        case Cmd::Sigaction: {
            KSigaction sa;
            sa.handler = c.handler == proto::Handler::Ign   ? reinterpret_cast<void*>(SIG_IGN)
                         : c.handler == proto::Handler::Dfl ? reinterpret_cast<void*>(SIG_DFL)
                                                            : reinterpret_cast<void*>(&catch_handler);
            sa.flags = c.flags | kSA_RESTORER;
            sa.restorer = &pidlab_puppet_sigreturn;
            sa.mask = 0;
            r.ret = sys(SYS_rt_sigaction, c.sig, L(&sa), 0, 8);
            return;
        }
        case Cmd::Waitpid: {
            // A step that would block is not run blocking: add WNOHANG and tell.
            bool block = !(c.flags & WNOHANG);
            int status = 0;
            r.ret = sys(SYS_wait4, c.pid, L(&status), L(c.flags | WNOHANG), 0);
            r.value = status;
            r.would_block = block && r.ret == 0;
            return;
        }
        case Cmd::Waitid: {
            bool block = !(c.flags & WNOHANG);
            uint64_t options = c.flags | WEXITED;
            // waitid on an O_NONBLOCK pidfd never blocks: the kernel answers EAGAIN itself.
            if (block && c.idtype == proto::kP_PIDFD) {
                long fl = sys(SYS_fcntl, c.fd, F_GETFL);
                if (fl >= 0 && (fl & O_NONBLOCK)) block = false;
            }
            siginfo_t si;
            __builtin_memset(&si, 0, sizeof si);
            long id = c.idtype == proto::kP_PIDFD ? c.fd : c.pid;
            r.ret = sys(SYS_waitid, c.idtype, id, L(&si), L(options | (block ? WNOHANG : 0)), 0);
            r.child_pid = si.si_pid;
            r.child_code = si.si_code;
            r.child_status = si.si_status;
            r.would_block = block && r.ret == 0 && si.si_pid == 0;
            return;
        }
        case Cmd::PidfdOpen: r.ret = sys(SYS_pidfd_open, c.pid, L(c.flags)); return;
        case Cmd::Close: r.ret = sys(SYS_close, c.fd); return;
        case Cmd::Dup: r.ret = sys(SYS_dup, c.fd); return;
        case Cmd::Poll: {
            pollfd p{c.fd, POLLIN, 0};
            r.ret = sys(SYS_poll, L(&p), 1, 0);
            r.value = (unsigned short)p.revents;
            return;
        }
        case Cmd::PidfdGetInfo: {
            PidfdInfo info;
            __builtin_memset(&info, 0, sizeof info);
            info.mask = kPIDFD_INFO_EXIT;
            r.ret = sys(SYS_ioctl, c.fd, long(kPIDFD_GET_INFO), L(&info));
            r.info_mask = info.mask;
            r.exit_code = info.exit_code;
            return;
        }
        case Cmd::Prctl: {
            int v = 0;
            switch (c.option) {
                case proto::kPR_GET_PDEATHSIG:
                case proto::kPR_GET_CHILD_SUBREAPER:
                    r.ret = sys(SYS_prctl, c.option, L(&v), 0, 0, 0);
                    r.value = v;
                    return;
                case proto::kPR_GET_NO_NEW_PRIVS:
                    r.ret = sys(SYS_prctl, c.option, 0, 0, 0, 0);
                    r.value = r.ret;
                    return;
                default: r.ret = sys(SYS_prctl, c.option, c.value, 0, 0, 0); return;
            }
        }
        case Cmd::DropPrivileges: {
            r.ret = set_ids(c.uid);
            if (r.ret >= 0) r.ret = capset_all(false);
            return;
        }
        case Cmd::Setresuid: r.ret = sys(SYS_setresuid, c.uid, c.uid, c.uid); return;
        case Cmd::Execve: do_execve(ctl, c, r); return;
        case Cmd::Ptrace:
            if (c.option == proto::kPTRACE_SEIZE) r.ret = sys(SYS_ptrace, proto::kPTRACE_SEIZE, c.pid, 0, L(c.flags));
            else r.ret = sys(SYS_ptrace, proto::kPTRACE_DETACH, c.pid, 0, 0);
            return;
        case Cmd::SignalPending: {
            uint64_t set = 1ULL << (c.sig - 1);
            timespec zero{0, 0};
            r.ret = sys(SYS_rt_sigtimedwait, L(&set), 0, L(&zero), 8);
            return;
        }
        case Cmd::GetSubreaper: {
            int v = 0;
            r.ret = sys(SYS_prctl, proto::kPR_GET_CHILD_SUBREAPER, L(&v), 0, 0, 0);
            r.value = v;
            return;
        }
        case Cmd::SetupRoot: r.ret = setup_root(c.uid, c.caps != 0); return;
        case Cmd::Stall: {
            timespec t{c.value / 1000, (c.value % 1000) * 1000000};
            r.ret = sys(SYS_nanosleep, L(&t), 0);
            return;
        }
        case Cmd::None:
        case Cmd::Observe: break;  // observe is the controller's (it reads /proc)
    }
    r.ret = -22;  // EINVAL: unknown command
}

[[noreturn]] void serve(long ctl) {
    for (;;) {
        Command c;
        long n = sys(SYS_recvfrom, ctl, L(&c), sizeof c, 0, 0, 0);
        if (n == -4 /*EINTR*/) continue;
        // The controller is gone (or speaks nonsense): nothing left to do.
        if (n != long(sizeof c) || c.magic != proto::kMagic)
            for (;;) sys(SYS_exit_group, 125);
        Reply r = blank_reply();
        perform(ctl, c, r);
        send_reply(ctl, r);
    }
}

}  // namespace

void configure(const char* socket_path, const char* helper_plain, const char* helper_suid) {
    str_copy(g_socket, sizeof g_socket, socket_path);
    str_copy(g_helper[0], sizeof g_helper[0], helper_plain);
    str_copy(g_helper[1], sizeof g_helper[1], helper_suid);
}

void run_init() {
    // Die with the controller. The controller is single-threaded, so its one
    // thread is the "parent" PR_SET_PDEATHSIG watches.
    sys(SYS_prctl, proto::kPR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    block_all_signals();
    for (int sig = 1; sig <= 64; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        KSigaction sa{reinterpret_cast<void*>(SIG_DFL), kSA_RESTORER, &pidlab_puppet_sigreturn, 0};
        sys(SYS_rt_sigaction, sig, L(&sa), 0, 8);
    }
    long null = sys(SYS_open, L("/dev/null"), O_RDWR | O_CLOEXEC, 0);
    for (int fd = 0; fd < 3; ++fd) {
        if (null >= 0) sys(SYS_dup2, null, fd);
        else sys(SYS_close, fd);
    }
    if (sys(SYS_close_range, 3, ~0U, 0) < 0)
        for (int fd = 3; fd < 4096; ++fd) sys(SYS_close, fd);
    rlimit nocore{0, 0};
    sys(SYS_setrlimit, RLIMIT_CORE, L(&nocore));
    // If the controller died before the prctl above, nobody listens any more.
    long ctl = connect_controller();
    if (ctl < 0) die(126);
    Reply hello = blank_reply();
    hello.kind = proto::Kind::Hello;
    hello.child = 0;
    hello.tid = (int32_t)sys(SYS_gettid);
    send_reply(ctl, hello);
    serve(ctl);
}

void resume_after_exec(int argc, char** argv) {
    if (argc != 7) die(124);
    block_all_signals();
    long ctl = parse_int(argv[2]);
    str_copy(g_socket, sizeof g_socket, argv[3]);
    str_copy(g_helper[0], sizeof g_helper[0], argv[4]);
    str_copy(g_helper[1], sizeof g_helper[1], argv[5]);
    // Running setuid: obey only the controller that placed this helper, i.e. a
    // channel to a root-owned socket bound inside the helper's own directory
    // (root's, mode 0711: nobody else can bind there). Never one a user made
    // with socketpair() or by connecting to some other root service.
    if (sys(SYS_getuid) != sys(SYS_geteuid)) {
        ucred peer{};
        socklen_t len = sizeof peer;
        if (sys(SYS_getsockopt, ctl, SOL_SOCKET, SO_PEERCRED, L(&peer), L(&len)) < 0 || peer.uid != 0) die(123);
        sockaddr_un addr{};
        socklen_t alen = sizeof addr;
        char self[sizeof addr.sun_path];
        long n = sys(SYS_readlink, L("/proc/self/exe"), L(self), sizeof self - 1);
        if (n <= 0 || sys(SYS_getpeername, ctl, L(&addr), L(&alen)) < 0 || addr.sun_family != AF_UNIX) die(123);
        self[n] = 0;
        long slash = n;
        while (slash > 0 && self[slash] != '/') --slash;
        if (slash <= 0) die(123);
        for (long i = 0; i <= slash; ++i)
            if (addr.sun_path[i] != self[i]) die(123);
        for (long i = slash + 1; addr.sun_path[i]; ++i)
            if (addr.sun_path[i] == '/') die(123);
    }
    sys(SYS_fcntl, ctl, F_SETFD, FD_CLOEXEC);
    Reply r = blank_reply();
    r.ret = 0;
    r.value = sys(SYS_geteuid);
    r.tid = (int32_t)sys(SYS_gettid);
    // Which of the scenario's fds survived the exec.
    const char* p = argv[6];
    while (*p && *p != '-' && r.nfds < proto::kMaxFds) {
        long fd = parse_int(p);
        if (sys(SYS_fcntl, fd, F_GETFD) >= 0) r.fds[r.nfds++] = int32_t(fd);
        while (*p && *p != ',') ++p;
        if (*p == ',') ++p;
    }
    send_reply(ctl, r);
    serve(ctl);
}

}  // namespace pidlab::oracle::puppet
