#include "detail/driver.hpp"

#include "detail/parker.hpp"

namespace weft::detail {

void interrupt_driver(Driver& driver) noexcept { driver.unpark(); }

bool Parker::park_in_driver() {
    if (!driver_->try_lock()) return false;
    struct Unlock {
        Driver& d;
        ~Unlock() { d.unlock(); }
    } unlock{*driver_};
    // A notification that arrived before we got here still counts: serve the driver without
    // sleeping, then return.
    const bool may_sleep = enter_driver_park();
    driver_->park(may_sleep);
    if (may_sleep) leave_driver_park();
    return true;
}

}  // namespace weft::detail
