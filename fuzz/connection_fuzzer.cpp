// A whole connection driven by a script: the input is a sequence of
// operations (feed received bytes, send text/binary/ping/fragments, close,
// write some output, end of stream) with their arguments.
//
// Oracles: the receive side gives the same events as feeding all received
// bytes at once; every API call returns only its documented errors; and the
// bytes the connection wrote, decoded by a peer, are free of errors and
// carry exactly the messages whose send returned ok.
#include <string_view>

#include "connection_oracles.hpp"

using namespace nexus::fuzz;
using nexus::core::Opcode;

namespace {

std::string_view as_text(std::span<const std::uint8_t> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

bool one_of(Error e, std::initializer_list<Error> allowed) {
    for (Error a : allowed) {
        if (e == a) {
            return true;
        }
    }
    return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput in(data, size);
    const Role role = in.param_bool() ? Role::server : Role::client;
    const ConnectionConfig config = config_from(in, role);
    Connection c(config);

    std::vector<std::uint8_t> received; // every byte fed, for the whole-input oracle
    std::vector<std::uint8_t> wire;     // every byte written
    std::vector<Recorded> events;
    std::vector<Recorded> sent; // complete messages whose send returned ok
    std::string fragments;
    EventType fragment_type = EventType::binary;
    int close_code_sent = -1;
    bool eof = false;

    while (in.remaining() > 0 && !eof) {
        const std::uint8_t op = in.byte();
        const std::size_t n = in.byte();
        switch (op % 8) {
        case 0: {
            const auto chunk = in.bytes(n + 1);
            std::vector<std::uint8_t> buffer(chunk.begin(), chunk.end());
            received.insert(received.end(), chunk.begin(), chunk.end());
            NX_FUZZ_CHECK(c.receive_data(buffer) == Error::ok);
            drain(c, events);
            break;
        }
        case 1: {
            const auto payload = in.bytes(n);
            const Error e = c.send_text(as_text(payload));
            NX_FUZZ_CHECK(one_of(e, {Error::ok, Error::invalid_state, Error::local_invalid_utf8,
                                     Error::local_message_in_progress}));
            NX_FUZZ_CHECK((e == Error::local_invalid_utf8) ==
                          (!nexus::core::is_valid_utf8(payload) && e != Error::invalid_state &&
                           e != Error::local_message_in_progress));
            if (e == Error::ok) {
                sent.push_back({EventType::text, std::string(as_text(payload)), 0, Error::ok});
            }
            break;
        }
        case 2: {
            const auto payload = in.bytes(n * 4);
            const Error e = c.send_binary(payload);
            NX_FUZZ_CHECK(
                one_of(e, {Error::ok, Error::invalid_state, Error::local_message_in_progress}));
            if (e == Error::ok) {
                sent.push_back({EventType::binary, std::string(as_text(payload)), 0, Error::ok});
            }
            break;
        }
        case 3: {
            const auto payload = in.bytes(n);
            const Error e = (op & 8) != 0 ? c.send_ping(payload) : c.send_pong(payload);
            NX_FUZZ_CHECK(
                one_of(e, {Error::ok, Error::invalid_state, Error::local_control_too_long}));
            NX_FUZZ_CHECK((e == Error::local_control_too_long) ==
                          (payload.size() > 125 && e != Error::invalid_state));
            break;
        }
        case 4: {
            const Opcode opcode = n % 3 == 0   ? Opcode::continuation
                                  : n % 3 == 1 ? Opcode::text
                                               : Opcode::binary;
            const bool fin = (n & 0x80) != 0;
            const auto payload = in.bytes(in.byte() % 64);
            const Error e = c.send_frame(opcode, payload, fin);
            NX_FUZZ_CHECK(
                one_of(e, {Error::ok, Error::invalid_state, Error::local_invalid_utf8,
                           Error::local_message_in_progress, Error::local_no_message_in_progress}));
            if (e == Error::ok) {
                if (opcode != Opcode::continuation) {
                    fragments.clear();
                    fragment_type = opcode == Opcode::text ? EventType::text : EventType::binary;
                }
                fragments.append(as_text(payload));
                if (fin) {
                    sent.push_back({fragment_type, fragments, 0, Error::ok});
                }
            }
            break;
        }
        case 5: {
            const auto code = static_cast<std::uint16_t>(n << 8 | in.byte());
            const auto reason = in.bytes(in.byte() % 130);
            const Error e = c.close(code, as_text(reason));
            NX_FUZZ_CHECK(one_of(e, {Error::ok, Error::invalid_state,
                                     Error::local_invalid_close_code, Error::local_invalid_utf8,
                                     Error::local_control_too_long, Error::local_bad_argument}));
            if (e == Error::ok) {
                close_code_sent = code == 0 ? nexus::core::close_code::no_status : code;
            }
            break;
        }
        case 6: {
            const auto out = c.data_to_send();
            const std::size_t take = n * 16 < out.size() ? n * 16 : out.size();
            wire.insert(wire.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(take));
            c.consume(take);
            break;
        }
        default:
            eof = true;
            break;
        }
    }
    if (eof) {
        c.receive_eof();
        drain(c, events);
    }

    // Whole input, same events.
    Connection whole(config);
    std::vector<Recorded> whole_events;
    whole.receive_data(received);
    drain(whole, whole_events);
    if (eof) {
        whole.receive_eof();
        drain(whole, whole_events);
    }
    NX_FUZZ_CHECK(whole_events == events);

    // What was written is valid and carries exactly the messages sent.
    const auto rest = c.data_to_send();
    wire.insert(wire.end(), rest.begin(), rest.end());
    Connection peer(peer_of(config));
    std::vector<Recorded> at_peer;
    peer.receive_data(wire);
    drain(peer, at_peer);
    std::vector<Recorded> messages;
    int closes = 0;
    for (const auto& e : at_peer) {
        NX_FUZZ_CHECK(e.type != EventType::error);
        if (e.type == EventType::text || e.type == EventType::binary) {
            messages.push_back(e);
        } else if (e.type == EventType::close) {
            ++closes;
            if (close_code_sent >= 0 && !c.failed()) {
                NX_FUZZ_CHECK(e.close_code == close_code_sent);
            }
        }
    }
    NX_FUZZ_CHECK(closes <= 1);
    NX_FUZZ_CHECK(messages == sent);
    return 0;
}
