"""The WeCom 智能机器人 (AI bot) adapter: @-mentions in groups and direct chats, replies in place, posts.

- `frames`: the wire format (commands, frames, a callback body read into typed parts);
- `connection`: the long connection (WebSocket out, subscribe, heartbeat, reconnect);
- `render`: a `Reply` as stream, markdown and template-card bodies;
- `media`: encrypted media downloads and images held for the next report;
- `adapter`: callback bodies to `Incoming`s and the core's `Reply`s back, in place;
- `messenger`: the `Messenger` port (proactive posts, within WeCom's limits);
- `relay`: `zsbot jobs run` posting through the running bot's connection;
- `callback`: callback mode (encrypted JSON over HTTP);
- `platform`: wiring all of it for `zsbot run` and `zsbot jobs run`.
"""
