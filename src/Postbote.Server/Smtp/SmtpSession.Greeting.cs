using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Net;

namespace Postbote.Smtp;

internal sealed partial class SmtpSession
{
    /// <summary><c>554 5.5.1 Error: SMTP protocol violation</c>: the reply to an early talker, as postscreen's PREGREET.</summary>
    private static readonly SmtpReply ProtocolViolation =
        new(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.InvalidCommand, "Error: SMTP protocol violation");

    /// <summary>Whether this connection waits <see cref="SmtpServerOptions.GreetPause"/> before its greeting: an MX
    /// listener (clear text first), a client outside the trusted networks, a pause set.</summary>
    private bool GreetPauseApplies =>
        _options.GreetPause > TimeSpan.Zero && Listener.Kind == ListenerKind.Mx && !Listener.ImplicitTls && !Info.IsTrustedNetwork;

    /// <summary>
    /// The early-talker check (Postfix postscreen's pregreet test): waits up to the greet pause for input; a client that
    /// sends anything first gets <see cref="ProtocolViolation"/> and is closed; otherwise the greeting goes out and the
    /// same pending zero-byte read goes on waiting for the first command, so a patient client costs nothing more.
    /// </summary>
    /// <returns><c>true</c> when the session goes on (greeted, and the client's first octets arrived).</returns>
    private async ValueTask<bool> GreetAfterPauseAsync()
    {
        Task input = Connection.WaitForInputAsync().AsTask();
        Task pause = Task.Delay(_options.GreetPause, _server.Time);
        if (await Task.WhenAny(input, pause).ConfigureAwait(false) == input)
        {
            await input.ConfigureAwait(false);
            if (Connection.AbortReason != ConnectionAbortReason.None || !Connection.HasPendingInput)
            {
                // Closed by the client, or aborted (shutdown, a deadline) before the greeting was due.
                if (ClosedBeforeFirstInput() is { } bye) await Connection.WriteAsync(bye).ConfigureAwait(false);
                return false;
            }
            _log.LogInformation("early talker refused: client [{Client}] sent before the greeting (greet_pause {Pause} s)",
                Connection.Remote.Address, _options.GreetPause.TotalSeconds);
            Connection.UsePipes();
            Reply(ProtocolViolation);
            await FlushAsync().ConfigureAwait(false);
            return false;
        }
        await Connection.WriteAsync(_server.Greeting).ConfigureAwait(false);
        await input.ConfigureAwait(false);
        return true;
    }
}
