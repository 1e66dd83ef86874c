// testinit: a stand-in for `pidlab-oracle vm-init`, used to prove the VM runner.
//
// Runs as /init (pid 1) of the initramfs built by oracle/vm/run-vm.sh. It mounts
// devtmpfs and proc, writes to the results port /dev/ttyS1
//   {"hello": "<uname -r>", "pid": 1, "machine": "x86_64", "args": "vm-init"}
//   {"scenario": "0001-name.json", "bytes": N}        (one per scenario file)
//   {"done": true, "kernel": "<uname -r>", "scenarios": N}
// and powers the machine off. It also prints a line to the console (ttyS0) so a
// test can check that console output never reaches the results file. Started
// with the argument "crash" it exits at once instead: pid 1 exiting panics the
// kernel ("Attempted to kill init!"), which is how the runner's retry is tested.
//
// Build: g++ -static -O2 -o testinit oracle/vm/testinit/testinit.cpp
// Only libc is used (the file is plain C apart from its extension).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <termios.h>
#include <unistd.h>

static void write_all(int fd, const char* s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    s += w;
    n -= (size_t)w;
  }
}

static void put(int fd, const char* s) { write_all(fd, s, strlen(s)); }

static int cmp(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}

static void power_off(void) {
  sync();
  reboot(RB_POWER_OFF);
  for (;;) pause();
}

int main(int argc, char** argv) {
  mkdir("/dev", 0755);
  mkdir("/proc", 0555);
  if (mount("devtmpfs", "/dev", "devtmpfs", 0, "mode=0755") != 0 && errno != EBUSY)
    fprintf(stderr, "testinit: mount devtmpfs: %s\n", strerror(errno));
  mount("proc", "/proc", "proc", 0, "");

  int con = open("/dev/console", O_WRONLY | O_NOCTTY);
  if (con >= 0) put(con, "testinit: console line, must not appear in results\n");
  for (int i = 1; i < argc; ++i)
    if (strcmp(argv[i], "crash") == 0) return 1;

  int out = open("/dev/ttyS1", O_WRONLY | O_NOCTTY);
  if (out < 0) {
    if (con >= 0) {
      put(con, "testinit: cannot open /dev/ttyS1: ");
      put(con, strerror(errno));
      put(con, "\n");
    }
    power_off();
  }

  struct utsname u;
  uname(&u);
  char line[1024];
  // Its own arguments (the words after `--` on the kernel command line), joined
  // by spaces; they are words without quotes or backslashes.
  char args[256] = "";
  for (int i = 1; i < argc; ++i) {
    if (i > 1) strncat(args, " ", sizeof args - strlen(args) - 1);
    strncat(args, argv[i], sizeof args - strlen(args) - 1);
  }
  snprintf(line, sizeof line, "{\"hello\": \"%s\", \"pid\": %d, \"machine\": \"%s\", \"args\": \"%s\"}\n",
           u.release, (int)getpid(), u.machine, args);
  put(out, line);

  int n = 0;
  char* names[4096];
  DIR* d = opendir("/pidlab/scenarios");
  if (d != NULL) {
    struct dirent* e;
    while ((e = readdir(d)) != NULL && n < 4096) {
      size_t len = strlen(e->d_name);
      if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
  }
  qsort(names, (size_t)n, sizeof names[0], cmp);
  for (int i = 0; i < n; ++i) {
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "/pidlab/scenarios/%s", names[i]);
    long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
    snprintf(line, sizeof line, "{\"scenario\": \"%s\", \"bytes\": %lld}\n", names[i], bytes);
    put(out, line);
  }

  snprintf(line, sizeof line, "{\"done\": true, \"kernel\": \"%s\", \"scenarios\": %d}\n", u.release, n);
  put(out, line);
  tcdrain(out);
  close(out);
  power_off();
  return 0;
}
