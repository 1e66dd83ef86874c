// The puppet: the code every scenario task runs. It waits for one command at a
// time from the controller, performs that system call itself and reports the
// raw result (see protocol.hpp).
//
// Puppet code makes raw system calls only and touches no libc state, no heap
// and no thread-local storage: a CLONE_VM child shares its creator's memory
// (and TLS pointer) and a CLONE_SETTLS child has none, yet both must run it.
#pragma once

namespace pidlab::oracle::puppet {

// Where new puppets connect (an AF_UNIX SOCK_SEQPACKET path) and the two exec
// helpers (copies of the oracle binary: plain 0755 and setuid-root 4755).
// Copied into static storage; call before creating the scenario's init.
void configure(const char* socket_path, const char* helper_plain, const char* helper_suid);

// The child of the controller's CLONE_NEWPID clone: become the scenario's init
// (pid 1). Dies with the controller (PR_SET_PDEATHSIG SIGKILL).
[[noreturn]] void run_init();

// main() of the helper after a scenario execve:
// argv = {helper, "puppet-exec", CTLFD, SOCKET, HELPER, HELPER_SUID, FDS}
// where FDS is a comma-separated list of the scenario fds to check (or "-").
[[noreturn]] void resume_after_exec(int argc, char** argv);

}  // namespace pidlab::oracle::puppet
