using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Logging;
using Postbote.MailStore;
using Postbote.Net;
using Postbote.Protocol.Pop3;

namespace Postbote.Pop3;

/// <summary>
/// One POP3 session (RFC 1939 §3–§6) over a <see cref="Net.Connection"/>: the AUTHORIZATION state (CAPA, STLS, USER/PASS,
/// AUTH; in Pop3Session.Authorization.cs), the TRANSACTION state over a locked <see cref="IMaildrop"/> (in
/// Pop3Session.Transaction.cs) and the UPDATE state after QUIT. Every command gets one reply; replies to pipelined
/// commands (RFC 2449 §6.6) are flushed together when the input is used up. A command line is at most 255 octets
/// (RFC 2449 §4), an AUTH line or SASL response at most 12,288; longer lines are drained in bounded memory and refused.
/// </summary>
internal sealed partial class Pop3Session : IProtocolSession
{
    /// <summary>The most octets of one line the session buffers before it drains the rest.</summary>
    private const int MaxPhysicalLine = Pop3CommandParser.MaxSaslLine + 2;

    private enum State : byte { Authorization, Transaction }

    private enum Mode : byte { Command, Sasl, DiscardLine }

    private readonly Pop3Server _server;
    private readonly Pop3ListenerOptions _listener;
    private readonly Pop3ServerLimits _limits;
    private readonly ILogger _log;
    private State _state;
    private Mode _mode;
    private bool _closing;
    private bool _busy;
    private bool _unflushed;
    private bool _discardingSasl;
    private int _errors;
    private long _linesCompleted;

    /// <summary>Creates the session of a connection.</summary>
    /// <param name="server">The service.</param>
    /// <param name="listener">The listener that accepted the connection.</param>
    /// <param name="connection">The connection.</param>
    /// <param name="log">The service's log.</param>
    public Pop3Session(Pop3Server server, Pop3ListenerOptions listener, Connection connection, ILogger log)
    {
        _server = server;
        _listener = listener;
        _limits = server.Options.Limits;
        Connection = connection;
        _log = log;
    }

    private Connection Connection { get; }

    /// <summary>Serves the connection until QUIT, a timeout, too many errors, or shutdown.</summary>
    /// <param name="shutdown">Signals that the server is stopping.</param>
    /// <returns>A task that completes when the session is over.</returns>
    public async Task RunAsync(CancellationToken shutdown)
    {
        CancellationTokenRegistration shutdownReg = shutdown.Register(static s => ((Pop3Session)s!).OnShutdown(), this);
        Connection.StartDeadlines();
        try
        {
            if (_listener.ImplicitTls)
            {
                if (!await HandshakeAsync().ConfigureAwait(false)) return;
            }
            else
            {
                Connection.UsePipes();
            }
            Reply(Pop3Reply.Ok($"{_server.Options.HostName} POP3 server ready"));
            while (!_closing)
            {
                if (_stlsPending)
                {
                    _stlsPending = false;
                    if (!await FlushAsync().ConfigureAwait(false) || !await HandshakeAsync().ConfigureAwait(false)) break;
                    continue;
                }
                if (shutdown.IsCancellationRequested)
                {
                    Reply(Pop3Reply.Err("Server shutting down", Pop3ResponseCode.SysTemp));
                    break;
                }
                if (_unflushed && !await FlushAsync().ConfigureAwait(false)) break;
                ReadResult result = await Connection.Input.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    ConnectionAbortReason reason = Connection.AbortReason;
                    if (reason == ConnectionAbortReason.Shutdown) continue; // the loop head replies
                    _log.LogInformation("closing POP3 session: {Reason}", reason);
                    // RFC 1939 §3: "When the timer expires, the session does NOT enter the UPDATE state".
                    Reply(reason == ConnectionAbortReason.IdleTimeout
                        ? Pop3Reply.Err("Disconnected for inactivity")
                        : Pop3Reply.Err("Command line took too long"));
                    break;
                }
                ReadOnlySequence<byte> buffer = result.Buffer;
                long readAt = Connection.RestartIdleDeadline();
                long lineStart = Connection.PendingLineSince, linesBefore = _linesCompleted;
                Connection.PendingLineSince = 0;
                _busy = true;
                SequencePosition consumed;
                try
                {
                    consumed = await ProcessAsync(buffer).ConfigureAwait(false);
                }
                finally
                {
                    _busy = false;
                }
                if (_mode == Mode.DiscardLine || !buffer.Slice(consumed).IsEmpty)
                    Connection.PendingLineSince = lineStart != 0 && _linesCompleted == linesBefore ? lineStart : readAt;
                Connection.Input.AdvanceTo(consumed, buffer.End);
                if (result.IsCompleted)
                {
                    if (_state == State.Transaction) _log.LogInformation("client left without QUIT: nothing deleted");
                    break;
                }
            }
            if (_unflushed) await FlushAsync().ConfigureAwait(false);
            await Connection.CloseTlsAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            _log.LogInformation("POP3 connection lost: {Error}", e.Message);
        }
        finally
        {
            await shutdownReg.DisposeAsync().ConfigureAwait(false);
            Connection.StopDeadlines();
            EndSasl();
            // A session that ends without QUIT never reaches the UPDATE state (RFC 1939 §6): the lock goes, nothing changes.
            _maildrop?.Dispose();
            _maildrop = null;
        }
    }

    /// <summary>Executes every complete line of the buffer.</summary>
    private async ValueTask<SequencePosition> ProcessAsync(ReadOnlySequence<byte> buffer)
    {
        while (!_closing && !_stlsPending)
        {
            SequencePosition? lf = buffer.PositionOf((byte)'\n');
            if (_mode == Mode.DiscardLine)
            {
                if (lf is null) return buffer.End;
                buffer = buffer.Slice(buffer.GetPosition(1, lf.Value));
                _linesCompleted++;
                _mode = Mode.Command;
                if (_discardingSasl) EndSasl();
                Reply(Pop3Reply.Err("Line too long"));
                _discardingSasl = false;
                continue;
            }
            if (lf is null)
            {
                if (buffer.Length <= MaxPhysicalLine) return buffer.Start;
                // Drain the rest of the line in bounded memory, then refuse it.
                _discardingSasl = _mode == Mode.Sasl;
                _mode = Mode.DiscardLine;
                return buffer.End;
            }
            ReadOnlySequence<byte> line = buffer.Slice(0, lf.Value);
            buffer = buffer.Slice(buffer.GetPosition(1, lf.Value));
            _linesCompleted++;
            if (line.Length > MaxPhysicalLine)
            {
                if (_mode == Mode.Sasl) EndSasl();
                Reply(Pop3Reply.Err("Line too long"));
                continue;
            }
            int length = (int)line.Length;
            byte[] rented = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
            try
            {
                line.CopyTo(rented);
                if (length > 0 && rented[length - 1] == '\r') length--;
                if (_mode == Mode.Sasl) await SaslResponseAsync(rented.AsMemory(0, length)).ConfigureAwait(false);
                else await ExecuteAsync(rented.AsMemory(0, length)).ConfigureAwait(false);
            }
            finally
            {
                // PASS and SASL lines carry credentials: clear them before the buffer goes back to the pool.
                Array.Clear(rented, 0, line.Length > int.MaxValue ? 0 : (int)line.Length);
                ArrayPool<byte>.Shared.Return(rented);
            }
            // RFC 2595 §4: after STLS the client's clear-text octets that follow are not read as if they came over TLS.
            if (_stlsPending) return buffer.End;
        }
        return buffer.Start;
    }

    private ValueTask ExecuteAsync(ReadOnlyMemory<byte> memory)
    {
        ReadOnlySpan<byte> line = memory.Span;
        if (line.IndexOfAnyInRange((byte)0, (byte)8) >= 0 || line.IndexOfAnyInRange((byte)10, (byte)31) >= 0 || line.Contains((byte)127))
        {
            Reply(Pop3Reply.Err("Invalid characters in command"));
            return default;
        }
        Pop3Verb verb = Pop3CommandParser.ParseVerb(line, out ReadOnlySpan<byte> args);
        if (_log.IsEnabled(LogLevel.Trace))
        {
            // Secrets never reach the log: PASS and AUTH show their keyword and the size of what follows.
            _log.LogTrace("C: {Line}", verb is Pop3Verb.Pass or Pop3Verb.Auth or Pop3Verb.Apop
                ? $"{Encoding.ASCII.GetString(line[..Math.Min(line.Length, 4)])} ({args.Length} octets not logged)"
                : Escape(line));
        }
        if (verb != Pop3Verb.Auth && line.Length + 2 > Pop3CommandParser.MaxCommandLine)
        {
            Reply(Pop3Reply.Err("Line too long"));
            return default;
        }
        if (verb == Pop3Verb.Unknown)
        {
            Reply(Pop3Reply.Err("Unknown command"));
            return default;
        }
        return _state == State.Authorization ? AuthorizationAsync(verb, memory[^args.Length..]) : TransactionAsync(verb, memory[^args.Length..]);
    }

    /// <summary>A positive reply that may be written only where the command is valid, else <c>-ERR</c>.</summary>
    private void WrongState() => Reply(Pop3Reply.Err("Command not valid in this state"));

    // ---- replies and flushing --------------------------------------------------------------------------------------

    /// <summary>Writes a status line (unflushed). A <c>-ERR</c> for the client's fault counts towards
    /// <see cref="Pop3ServerLimits.MaxErrors"/>; the one that reaches it closes the session after one more line.</summary>
    /// <param name="reply">The reply.</param>
    private void Reply(Pop3Reply reply)
    {
        reply.WriteTo(Connection.Output);
        _unflushed = true;
        if (_log.IsEnabled(LogLevel.Trace)) _log.LogTrace("S: {Reply}", reply.ToString().TrimEnd());
        if (!reply.IsOk && reply.Code is not (Pop3ResponseCode.SysTemp or Pop3ResponseCode.SysPerm) && ++_errors >= _limits.MaxErrors)
        {
            _log.LogInformation("too many errors ({Errors}), closing", _errors);
            Pop3Reply.Err("Too many errors, closing").WriteTo(Connection.Output);
            _closing = true;
        }
    }

    /// <summary>Writes one line of a multi-line response with its CRLF; the caller dot-stuffs where needed.</summary>
    private void Line(string text)
    {
        int n = Encoding.UTF8.GetByteCount(text) + 2;
        Span<byte> span = Connection.Output.GetSpan(n);
        int w = Encoding.UTF8.GetBytes(text, span);
        span[w] = (byte)'\r';
        span[w + 1] = (byte)'\n';
        Connection.Output.Advance(n);
        _unflushed = true;
    }

    private void EndMultiLine() => Line(".");

    private async ValueTask<bool> FlushAsync()
    {
        _unflushed = false;
        FlushResult r = await Connection.Output.FlushAsync().ConfigureAwait(false);
        return !r.IsCanceled && !r.IsCompleted;
    }

    private void OnShutdown()
    {
        Connection.SetShutdownDeadline(_limits.ShutdownTimeout);
        // A session busy sending a message may finish it (until the deadline); an idle one is woken to say goodbye.
        if (!_busy) Connection.Abort(ConnectionAbortReason.Shutdown);
    }

    private static string Escape(ReadOnlySpan<byte> line)
    {
        var s = new StringBuilder(Math.Min(line.Length, 200));
        foreach (byte b in line[..Math.Min(line.Length, 200)]) s.Append(b is >= 32 and < 127 ? (char)b : '?');
        return s.ToString();
    }
}
