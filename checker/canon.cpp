#include "checker/canon.hpp"

#include <algorithm>
#include <array>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "format/names.hpp"

namespace pidlab::checker {

using model::ExitState;
using model::Kernel;
using model::TaskId;

namespace {

constexpr uint8_t kNone = 0xff;

struct Writer {
    std::string& s;
    void u8(int v) { s.push_back(static_cast<char>(static_cast<uint8_t>(v))); }
    void u16(int v) {
        u8(v & 0xff);
        u8((v >> 8) & 0xff);
    }
    void u64(uint64_t v) {
        for (int i = 0; i < 8; ++i) u8(static_cast<int>((v >> (8 * i)) & 0xff));
    }
};

// Positions (0 = top) in the kernel's stack of free file addresses of the addresses in `want`,
// read through the public API: a copy allocates pidfds from init until each address shows up.
std::vector<int> free_positions(const Kernel& k, const std::vector<int>& want) {
    std::vector<int> pos(want.size(), -1);
    int max_addr = 0;
    for (const auto& f : k.files()) max_addr = std::max(max_addr, f.addr);
    Kernel probe = k;
    size_t found = 0;
    for (int i = 0; i <= max_addr + 1 && found < want.size(); ++i) {
        auto r = probe.sys_pidfd_open(model::kInit, model::kInit, 0);
        if (r.ret < 0) break;
        int addr = probe.files().back().addr;
        if (addr > max_addr) break;  // a fresh address: the free stack is exhausted
        for (size_t j = 0; j < want.size(); ++j)
            if (want[j] == addr && pos[j] < 0) pos[j] = i, ++found;
    }
    return pos;
}

}  // namespace

void encode_state(const Kernel& k, const Aux& aux, const CanonOptions& o, std::string& out) {
    out.clear();
    Writer w{out};
    const auto& tasks = k.tasks();
    const int n = static_cast<int>(tasks.size());
    const auto& files = k.files();
    const int nfiles = static_cast<int>(files.size());

    // ---- numbering of tasks ----
    std::array<uint8_t, 72> tcanon;
    tcanon.fill(kNone);
    std::array<TaskId, 72> order;
    int norder = 0;
    auto visit = [&](TaskId t) {
        if (t < 0 || t >= n || tcanon[t] != kNone) return;
        tcanon[t] = static_cast<uint8_t>(norder);
        order[norder++] = t;
    };
    if (o.symmetry) {
        visit(model::kInit);
        visit(model::kTest);
        for (int i = 0; i < norder; ++i) {
            TaskId u = order[i];
            const auto& tu = tasks[u];
            if (tu.exit_state == ExitState::Released) continue;
            if (k.thread_group_leader(u))
                for (TaskId th : k.signal_of(u).threads) visit(th);
            else
                visit(tu.leader);
            for (TaskId c : tu.children) visit(c);
            for (TaskId p : tu.ptraced_list) visit(p);
        }
        for (TaskId t = 0; t < n; ++t)
            if (tasks[t].exit_state != ExitState::Released) visit(t);
    } else {
        for (TaskId t = 0; t < n; ++t) visit(t);
    }
    int nlive = norder;

    // The creator's credentials at creation (FileAux::creator_cred) are read only where a
    // release can autokill: any file in v2/v3 (found by address), the autokill files from v4 on.
    const auto autokill_id = k.profile().autokill;
    auto creator_cred_read = [&](const model::File& f) {
        return autokill_id == model::AutokillIdentity::SignalPointer ||
               (autokill_id == model::AutokillIdentity::FileFlag && f.autokill);
    };
    auto cred_summary = [](const model::Cred& c) {  // an ordering key only (the encoding has the whole cred)
        return (c.uid & 0x3f) | (c.euid != c.uid) << 6 | c.caps << 7;
    };

    // ---- fd tables, files (in order of first appearance) ----
    std::array<uint8_t, 80> tabcanon;
    tabcanon.fill(kNone);
    std::array<int, 80> taborder;
    int ntab = 0;
    for (int i = 0; i < nlive; ++i) {
        int tb = tasks[order[i]].files;
        if (tb < 0 || tb >= 80 || tabcanon[tb] != kNone) continue;
        tabcanon[tb] = static_cast<uint8_t>(ntab);
        taborder[ntab++] = tb;
    }
    std::vector<uint16_t> fcanon(nfiles, 0xffff);
    std::vector<int> forder;
    forder.reserve(16);
    // each table's entries, sorted by what the file is (fd numbers are names: a symmetry)
    std::vector<std::pair<uint64_t, int>> ents;  // (key, file) per table, reused
    std::vector<std::vector<std::pair<uint64_t, int>>> tab_entries(ntab);
    auto fkey = [&](const model::FdEntry& e) -> uint64_t {
        const auto& f = files[e.file];
        uint64_t key = uint64_t(tcanon[f.pid]) << 16 | uint64_t(f.thread) << 8 | uint64_t(f.nonblock) << 9 |
                       uint64_t(f.autokill) << 10 | uint64_t(f.clone3) << 11 | uint64_t(f.creator_caps) << 12 |
                       uint64_t(e.cloexec) << 13;
        if (e.file < static_cast<int>(aux.files.size())) {
            const auto& fa = aux.files[e.file];
            key |= uint64_t(fa.autokill_clone) << 14 | uint64_t(fa.creator >= 0 ? tcanon[fa.creator] : kNone) << 24;
            if (creator_cred_read(f)) key |= uint64_t(cred_summary(fa.creator_cred)) << 32;
        }
        if (!o.symmetry) key = uint64_t(e.fd) << 40 | key;
        return key;
    };
    for (int ti = 0; ti < ntab; ++ti) {
        const auto& tab = k.fd_tables()[taborder[ti]];
        auto& v = tab_entries[ti];
        v.clear();
        for (const auto& e : tab.entries) v.push_back({fkey(e) << 1 | (e.cloexec ? 1 : 0), e.file});
        std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& [key, f] : v) {
            if (fcanon[f] != 0xffff) continue;
            fcanon[f] = static_cast<uint16_t>(forder.size());
            forder.push_back(f);
        }
    }
    // released tasks that open files or recorded creators still refer to
    for (int f : forder) {
        visit(files[f].pid);
        if (f < static_cast<int>(aux.files.size())) visit(aux.files[f].creator);
    }

    // ---- signal structs and sighands (first appearance) ----
    std::array<uint8_t, 80> scanon, hcanon;
    scanon.fill(kNone);
    hcanon.fill(kNone);
    std::array<int, 80> sorder, horder;
    int nsig = 0, nsh = 0;
    for (int i = 0; i < norder; ++i) {
        const auto& t = tasks[order[i]];
        if (t.signal >= 0 && t.signal < 80 && scanon[t.signal] == kNone) scanon[t.signal] = nsig, sorder[nsig++] = t.signal;
        if (t.exit_state == ExitState::Released) continue;
        if (t.sighand >= 0 && t.sighand < 80 && hcanon[t.sighand] == kNone) hcanon[t.sighand] = nsh, horder[nsh++] = t.sighand;
    }

    // ---- the encoding ----
    w.u8(n);  // tasks ever created: the budget left
    w.u8(norder);
    w.u8(nlive);
    auto tid = [&](TaskId t) { return t < 0 || t >= n ? kNone : tcanon[t]; };
    for (int i = 0; i < norder; ++i) {
        const auto& t = tasks[order[i]];
        const bool rel = t.exit_state == ExitState::Released;
        w.u8(static_cast<int>(t.exit_state) | t.pf_exiting << 3 | t.exit_requested << 4 | t.ptraced << 5 |
             t.ptrace_exitkill << 6 | t.no_new_privs << 7);
        w.u16(t.exit_code);
        w.u8(t.cred.caps);
        w.u16(t.cred.uid);
        w.u16(t.cred.euid);
        w.u16(t.cred.suid);
        w.u16(t.cred.gid);
        w.u8(t.pidfs_registered | t.pidfs_has_exit << 1 | t.dumpable << 2);
        w.u16(t.pidfs_exit_code);
        w.u8(t.signal >= 0 ? scanon[t.signal] : kNone);
        if (rel) continue;
        w.u8(t.exit_signal);
        w.u8(static_cast<int>(t.origin));
        w.u8(t.pdeath_signal);
        w.u8(tid(t.leader));
        w.u8(tid(t.real_parent));
        w.u8(tid(t.parent));
        w.u8(t.sighand >= 0 ? hcanon[t.sighand] : kNone);
        w.u8(t.files >= 0 ? tabcanon[t.files] : kNone);
        w.u8(t.self_exec_id);
        w.u8(t.parent_exec_id);
        if (o.pending) w.u64(t.pending);
        w.u8(static_cast<int>(t.children.size()));
        for (TaskId c : t.children) w.u8(tid(c));
        w.u8(static_cast<int>(t.ptraced_list.size()));
        for (TaskId c : t.ptraced_list) w.u8(tid(c));
    }
    // file addresses matter only where the autokill file is found by address (v2/v3)
    const bool by_addr = k.profile().autokill == model::AutokillIdentity::SignalPointer;
    std::vector<int> free_want;
    for (int si = 0; si < nsig; ++si) {
        // find a task of this signal struct to read it through the public API
        const model::SignalStruct* sp = nullptr;
        for (int i = 0; i < norder && !sp; ++i)
            if (tasks[order[i]].signal == sorder[si]) sp = &k.signal_of(order[i]);
        const auto& s = *sp;
        w.u8(static_cast<int>(s.threads.size()));
        for (TaskId t : s.threads) w.u8(tid(t));
        w.u8(s.live);
        w.u8(s.quick_threads);
        w.u8(s.group_exit | s.unkillable << 1 | s.autoreap << 2 | s.is_child_subreaper << 3 |
             s.has_child_subreaper << 4);
        w.u16(s.group_exit_code);
        if (o.pending) w.u64(s.shared_pending);
        if (by_addr) {
            int label = kNone;
            if (s.autokill_pidfd >= 0) {
                label = 0xfe;  // a freed address: its place in the free stack is added below
                for (int f : forder)
                    if (!files[f].released && files[f].addr == s.autokill_pidfd) label = fcanon[f];
                if (label == 0xfe) free_want.push_back(s.autokill_pidfd);
            }
            w.u16(label);
        }
    }
    if (!free_want.empty()) {
        for (int p : free_positions(k, free_want)) w.u8(p);
    }
    for (int hi = 0; hi < nsh; ++hi) {
        const model::Sighand* hp = nullptr;
        for (int i = 0; i < norder && !hp; ++i)
            if (tasks[order[i]].exit_state != ExitState::Released && tasks[order[i]].sighand == horder[hi])
                hp = &k.sighand_of(order[i]);
        const auto& h = *hp;
        w.u8(h.users);
        for (int sig = 0; sig < 64; ++sig) {
            if (h.action[sig] == model::Handler::Dfl && h.flags[sig] == 0) continue;
            w.u8(sig + 1);
            w.u8(static_cast<int>(h.action[sig]));
            w.u8(static_cast<int>(h.flags[sig]));
        }
        w.u8(0);
    }
    for (int ti = 0; ti < ntab; ++ti) {
        const auto& tab = k.fd_tables()[taborder[ti]];
        w.u8(tab.users);
        w.u8(static_cast<int>(tab_entries[ti].size()));
        for (const auto& [key, f] : tab_entries[ti]) {
            w.u8(fcanon[f]);
            w.u8(static_cast<int>(key & 1));
            if (!o.symmetry) {
                for (const auto& e : tab.entries)
                    if (e.file == f) { w.u8(e.fd); break; }
            }
        }
    }
    w.u8(static_cast<int>(forder.size()));
    for (int f : forder) {
        const auto& file = files[f];
        w.u8(file.refs);
        w.u8(tid(file.pid));
        w.u8(file.thread | file.nonblock << 1 | file.autokill << 2 | file.clone3 << 3 | file.creator_caps << 4);
        if (f < static_cast<int>(aux.files.size())) {
            const auto& fa = aux.files[f];
            w.u8(fa.autokill_clone);
            w.u8(tid(fa.creator));
            if (fa.creator >= 0 && creator_cred_read(file)) {
                w.u8(fa.creator_cred.caps);
                w.u16(fa.creator_cred.uid);
                w.u16(fa.creator_cred.euid);  // kill_ok_by_cred reads uid, euid and caps of the sender
            }
        }
    }
}

uint64_t fingerprint(const std::string& e) { return XXH3_64bits(e.data(), e.size()); }

uint64_t fingerprint_state(const Kernel& k, const Aux& aux, const CanonOptions& o, std::string& scratch) {
    encode_state(k, aux, o, scratch);
    return fingerprint(scratch);
}

}  // namespace pidlab::checker
