// SPDX-License-Identifier: MIT
// The Asio flavour apsched::asio is built over: standalone Asio (1.22 or later), or Boost.Asio
// (Boost 1.77 or later, for cancellation slots) with APSCHED_USE_BOOST_ASIO defined.
#pragma once

// Asio 1.22 (Debian 12) enables co_await under Clang only with <experimental/coroutine>; Clang 14
// with libstdc++ has the standard <coroutine>, which works. Remove once Asio 1.24 is the oldest
// supported (it detects Clang's standard coroutines). Defined before any Asio header is read;
// the apsched::asio target defines them on the command line for the same reason.
#if defined(__clang__) && defined(__cpp_impl_coroutine) && __has_include(<coroutine>)
#ifndef ASIO_HAS_CO_AWAIT
#define ASIO_HAS_CO_AWAIT 1
#endif
#ifndef ASIO_HAS_STD_COROUTINE
#define ASIO_HAS_STD_COROUTINE 1
#endif
#endif

#ifdef APSCHED_USE_BOOST_ASIO
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#else
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#endif

namespace apsched::detail {

#ifdef APSCHED_USE_BOOST_ASIO
namespace net = ::boost::asio;
using ErrorCode = ::boost::system::error_code;
using SystemError = ::boost::system::system_error;
#else
namespace net = ::asio;
using ErrorCode = ::asio::error_code;
using SystemError = ::asio::system_error;
#endif

}  // namespace apsched::detail
