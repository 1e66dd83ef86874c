/*
 * The benchmark configuration "autoreap siblings" of pidlab, in Promela: the
 * same machine as checker/packed.hpp and as
 *   pidlab explore --kernel 7.1-no-parent-check --tasks N+1 --no-symmetry --depth 64
 *     --ops fork@T,clone3=AUTOREAP/0@T,clone3=0/0@T,wait_all@T,clone3=PARENT@C,exit_group@C
 * so that all three report the same number of distinct states.
 *
 * T (the test process, never exits) may:
 *   fork()                           -> a child with exit_signal SIGCHLD
 *   clone3(CLONE_AUTOREAP, 0)        -> an autoreap child (exit_signal 0)
 *   clone3(0, exit_signal 0)         -> a child whose 0 T chose
 *   waitpid(-1, WNOHANG|__WALL)      -> reaps the first zombie in its children list
 * each created task, while it runs, may:
 *   clone3(CLONE_PARENT, 0)          -> a sibling (T's child) that inherits the caller's
 *                                       exit_signal; from an autoreap caller: the leaked 0
 *                                       (7.1 rejects this; the profile lacks that check)
 *   exit_group(0)                    -> autoreap: reaped at once; otherwise a zombie
 *                                       (exit_signal SIGCHLD: T gets SIGCHLD; 0: nothing)
 *
 * A task's value (as the packed encoding): 0 unused; 1..6 running, by kind;
 * 7..12 zombie, by kind; 13 reaped; 14 reaped autoreap process. Kinds: 1 fork
 * child, 2 autoreap child, 3 chosen 0, 4 sibling with SIGCHLD, 5 sibling with the
 * autoreap 0 (the leak), 6 sibling with a chosen 0.
 *
 * Every op is one d_step, so each stored state is a state between two ops.
 * Build: spin -DN=6 -a autoreap_siblings.pml && gcc -O2 -DSAFETY -DNOREDUCE -o pan pan.c
 */
#ifndef N
#define N 6
#endif

#define UNUSED   0
#define ZOMBIE   6
#define REAPED   13
#define REAPED_A 14

byte st[8];     /* one per created task (N <= 8) */
byte next;      /* the next task to create: tasks are created in order */

#define running(i)  (st[i] >= 1 && st[i] <= 6)
#define sibling(k)  (((k) == 1 || (k) == 4) -> 4 : (((k) == 2 || (k) == 5) -> 5 : 6))

/* created task i: clone3(CLONE_PARENT) and exit_group */
#define TASK_OPS(i) \
    :: d_step { (i < N && running(i) && next < N) -> st[next] = sibling(st[i]); next++ } \
    :: d_step { (i < N && running(i)) -> if :: st[i] == 2 -> st[i] = REAPED_A :: else -> st[i] = st[i] + ZOMBIE fi }

/* T's waitpid(-1, WNOHANG|__WALL): the first zombie in creation order */
#define ZOMB(i) (i < N && st[i] > ZOMBIE && st[i] <= ZOMBIE + 6)

active proctype T() {
end:
    do
    :: d_step { next < N -> st[next] = 1; next++ }   /* fork */
    :: d_step { next < N -> st[next] = 2; next++ }   /* clone3(CLONE_AUTOREAP) */
    :: d_step { next < N -> st[next] = 3; next++ }   /* clone3(exit_signal 0) */
    :: d_step {                                       /* waitpid(-1, WNOHANG|__WALL) */
           if
           :: ZOMB(0) -> st[0] = REAPED
           :: else -> if
           :: ZOMB(1) -> st[1] = REAPED
           :: else -> if
           :: ZOMB(2) -> st[2] = REAPED
           :: else -> if
           :: ZOMB(3) -> st[3] = REAPED
           :: else -> if
           :: ZOMB(4) -> st[4] = REAPED
           :: else -> if
           :: ZOMB(5) -> st[5] = REAPED
           :: else -> if
           :: ZOMB(6) -> st[6] = REAPED
           :: else -> if
           :: ZOMB(7) -> st[7] = REAPED
           :: else -> skip   /* nothing to report: returns 0 */
           fi fi fi fi fi fi fi fi
       }
    TASK_OPS(0)
    TASK_OPS(1)
    TASK_OPS(2)
    TASK_OPS(3)
    TASK_OPS(4)
    TASK_OPS(5)
    TASK_OPS(6)
    TASK_OPS(7)
    od
}

/* autoreap_no_zombie: an autoreap child is never a zombie */
ltl never_autoreap_zombie { [] (st[0] != ZOMBIE + 2 && st[1] != ZOMBIE + 2 && st[2] != ZOMBIE + 2 &&
                                st[3] != ZOMBIE + 2 && st[4] != ZOMBIE + 2 && st[5] != ZOMBIE + 2 &&
                                st[6] != ZOMBIE + 2 && st[7] != ZOMBIE + 2) }
