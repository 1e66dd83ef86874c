#include "checker/packed.hpp"

namespace pidlab::checker::packed {

void System::violations(State s, std::vector<Violation>& v, InvMask watch) const {
    static const int leak = *invariant_index("no_clone_parent_leak");
    static const int invisible = *invariant_index("no_invisible_zombie");
    static const int autoreap = *invariant_index("autoreap_no_zombie");
    for (int i = 0; i < n; ++i) {
        int x = get(s, i);
        if ((x == kLeak || x == int(kZombie) + int(kLeak)) && (watch >> leak & 1))
            v.push_back({leak, "C" + std::to_string(i + 1) + " leaked 0"});
        if (x == int(kZombie) + int(kLeak) && (watch >> invisible & 1))
            v.push_back({invisible, "C" + std::to_string(i + 1) + " invisible"});
        if (x == int(kZombie) + int(kAutoreap) && (watch >> autoreap & 1))
            v.push_back({autoreap, "C" + std::to_string(i + 1) + " autoreap zombie"});
    }
}

void System::apply(State& s, uint32_t op) const {
    State found = s;
    bool hit = false;
    System q = *this;
    q.mask = 0;
    q.expand(s, [&](uint32_t o, Key&&, State&& t, std::vector<Violation>&) {
        if (!hit && o == op) found = t, hit = true;
    });
    s = found;
}

std::string System::describe(uint32_t op) {
    int i = int(op >> 8);
    switch (op & 0xff) {
        case 0: return "T fork";
        case 1: return "T clone3 CLONE_AUTOREAP";
        case 2: return "T clone3 exit_signal 0";
        case 3: return "T waitpid(-1, WNOHANG|__WALL)";
        case 4: return "C" + std::to_string(i + 1) + " clone3 CLONE_PARENT";
        case 5: return "C" + std::to_string(i + 1) + " exit_group";
    }
    return "?";
}

}  // namespace pidlab::checker::packed
