// The process-wide half of weft::signal: the handler, the dispatcher thread and the listener lists
// (see signal.hpp for the path a delivery takes).
#include "signal.hpp"

#include <pthread.h>
#include <sys/eventfd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#pragma push_macro("unix")
#undef unix

namespace weft::signal {

namespace detail {

struct Listener {
    Listener(int s, weft::detail::Registration r) noexcept : signum(s), reg(std::move(r)) {}
    const int signum;
    weft::detail::Registration reg;  // the listener's own eventfd, on its runtime's reactor
    Listener* prev = nullptr;        // in the registry's list for signum; guarded by its mutex
    Listener* next = nullptr;
    bool is_linked = false;
};

namespace {

// What the handler touches: constant-initialised lock-free atomics only (async-signal-safe).
// seq_cst throughout: a handler's flag store and eventfd write, and the dispatcher's eventfd read
// and flag exchange, are few, and a lost delivery is the bug this must not have.
std::array<std::atomic<bool>, NSIG> g_pending{};
std::atomic<int> g_wake_fd{-1};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

extern "C" void on_signal(int signum) {
    const int saved = errno;  // the interrupted code may be about to read errno
    g_pending[signum].store(true);
    const int fd = g_wake_fd.load();
    const std::uint64_t one = 1;
    if (fd >= 0) {
        [[maybe_unused]] const ssize_t r = ::write(fd, &one, sizeof one);
    }
    errno = saved;
}

// The listeners of each signal, and which signals have weft's handler. Never destroyed: the
// dispatcher thread runs until the process exits, and a static destructor racing it would free
// what it reads.
struct Registry {
    std::mutex mutex;
    std::array<Listener*, NSIG> listeners{};  // guarded by mutex
    std::array<bool, NSIG> installed{};       // guarded by mutex
};

Registry& registry() {
    static Registry* r = new Registry;
    return *r;
}

void write_one(int fd) noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t r = ::write(fd, &one, sizeof one);  // EAGAIN: one is pending already
}

// The dispatcher: waits on the handler's eventfd, then fans each pending signal out to its
// listeners. Under the registry's mutex, so no listener's eventfd is closed while it is written.
[[noreturn]] void dispatch(int wake_fd) {
    Registry& reg = registry();
    for (;;) {
        std::uint64_t count;
        if (::read(wake_fd, &count, sizeof count) < 0 && errno != EINTR && errno != EAGAIN) std::abort();
        std::lock_guard lock(reg.mutex);
        for (int sig = 1; sig < NSIG; ++sig) {
            if (!g_pending[sig].exchange(false)) continue;
            for (Listener* l = reg.listeners[sig]; l; l = l->next) write_one(l->reg.fd());
        }
    }
}

// Once: the handler's eventfd and the dispatcher thread, created with every signal blocked so
// that it inherits a full mask (handlers never interrupt it).
void start_dispatcher() {
    static std::once_flag once;
    std::call_once(once, [] {
        const int fd = ::eventfd(0, EFD_CLOEXEC);  // blocking: the dispatcher sleeps in read()
        if (fd < 0) throw std::system_error(errno, std::system_category(), "weft: signal eventfd");
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        try {
            std::thread(dispatch, fd).detach();
        } catch (...) {
            pthread_sigmask(SIG_SETMASK, &old, nullptr);
            ::close(fd);
            throw;
        }
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        g_wake_fd.store(fd);
    });
}

void check_signal(int signum) {
    if (signum <= 0 || signum >= NSIG) throw std::invalid_argument("weft: not a signal number");
    switch (signum) {
        case SIGKILL:
        case SIGSTOP:
        case SIGILL:
        case SIGFPE:
        case SIGSEGV:
            throw std::invalid_argument("weft: this signal cannot be listened to (SIGKILL, SIGSTOP, SIGILL, SIGFPE, SIGSEGV)");
        default:
            break;
    }
}

}  // namespace

void ListenerDeleter::operator()(Listener* l) const noexcept {
    {
        Registry& reg = registry();
        std::lock_guard lock(reg.mutex);
        if (l->is_linked) {  // not if sigaction failed
            if (l->prev) l->prev->next = l->next;
            else reg.listeners[l->signum] = l->next;
            if (l->next) l->next->prev = l->prev;
        }
    }
    delete l;  // closes its eventfd, now that the dispatcher cannot reach it
}

const weft::detail::Registration& registration(const Listener& l) noexcept { return l.reg; }

ListenerPtr listen(int signum) {
    check_signal(signum);
    start_dispatcher();
    const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::system_category(), "weft: eventfd");
    ListenerPtr l(new Listener(signum, weft::detail::Registration(fd, weft::detail::FdKind::owned)));
    Registry& reg = registry();
    std::lock_guard lock(reg.mutex);  // released before `l` is destroyed if this throws
    if (!reg.installed[signum]) {
        struct sigaction sa {};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;  // the program's blocking calls elsewhere are not cut short
        if (::sigaction(signum, &sa, nullptr) < 0) {
            throw std::system_error(errno, std::system_category(), "weft: sigaction");
        }
        reg.installed[signum] = true;
    }
    l->next = reg.listeners[signum];
    if (l->next) l->next->prev = l.get();
    reg.listeners[signum] = l.get();
    l->is_linked = true;
    return l;
}

}  // namespace detail

namespace unix {
Signal signal(int signum) { return Signal(detail::listen(signum)); }
}  // namespace unix

CtrlC ctrl_c() { return CtrlC(detail::listen(SIGINT)); }

}  // namespace weft::signal

#pragma pop_macro("unix")
