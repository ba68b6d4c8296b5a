using System.Diagnostics.CodeAnalysis;
using System.Text;
using Postbote.Core;

namespace Postbote.Host.Control;

/// <summary>
/// One request of the control socket: <c>verb [SP queue-id] LF</c> (a CR before the LF is allowed), the verbs of
/// <see cref="ControlCommand"/> in any case, the queue ID in any case (IDs are upper case, <see cref="QueueId"/>).
/// </summary>
/// <param name="Command">The command.</param>
/// <param name="Id">The queue ID for <c>show</c>, <c>retry</c>, <c>hold</c>, <c>release</c> and <c>delete</c>;
/// <c>null</c> for <c>list</c> and <c>flush</c>.</param>
public sealed record ControlRequest(ControlCommand Command, QueueId? Id = null)
{
    /// <summary>For <c>trace</c>: the queue ID or Message-ID as given (printable ASCII without spaces).</summary>
    public string? Query { get; init; }

    /// <summary>Whether a command names one message.</summary>
    /// <param name="command">The command.</param>
    /// <returns><c>false</c> for <c>list</c> and <c>flush</c>.</returns>
    public static bool TakesId(ControlCommand command) => command is not (ControlCommand.List or ControlCommand.Flush or ControlCommand.Trace or ControlCommand.Mailq);

    /// <summary>Parses a request line.</summary>
    /// <param name="line">The line, with or without its LF (and CR).</param>
    /// <param name="request">The request, when the line is one.</param>
    /// <param name="error">Why the line is not a request (for a <c>bad</c> reply), else <c>null</c>.</param>
    /// <returns>Whether the line is a request.</returns>
    public static bool TryParse(ReadOnlySpan<byte> line, [NotNullWhen(true)] out ControlRequest? request,
        [NotNullWhen(false)] out string? error)
    {
        request = null;
        if (line.EndsWith("\n"u8)) line = line[..^1];
        if (line.EndsWith("\r"u8)) line = line[..^1];
        foreach (byte b in line)
        {
            if (b is < 0x20 or > 0x7E)
            {
                error = "not a request: \"" + Ascii(line, 40) + "\"; commands: " + ControlProtocol.Usage;
                return false;
            }
        }
        string[] words = Encoding.ASCII.GetString(line).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            error = "empty request; commands: " + ControlProtocol.Usage;
            return false;
        }
        string verb = words[0].ToLowerInvariant();
        ControlCommand? command = verb switch
        {
            "list" => ControlCommand.List,
            "show" => ControlCommand.Show,
            "flush" => ControlCommand.Flush,
            "retry" => ControlCommand.Retry,
            "hold" => ControlCommand.Hold,
            "release" => ControlCommand.Release,
            "delete" => ControlCommand.Delete,
            "trace" => ControlCommand.Trace,
            "mailq" => ControlCommand.Mailq,
            _ => null,
        };
        if (command is not { } c)
        {
            error = "unknown command \"" + ControlProtocol.Printable(words[0], 40) + "\"; commands: " + ControlProtocol.Usage;
            return false;
        }
        if (c == ControlCommand.Trace)
        {
            if (words.Length != 2)
            {
                error = "trace takes one queue ID or Message-ID";
                return false;
            }
            request = new ControlRequest(c) { Query = words[1] };
            error = null;
            return true;
        }
        if (!TakesId(c))
        {
            if (words.Length != 1)
            {
                error = verb + " takes no argument";
                return false;
            }
            request = new ControlRequest(c);
            error = null;
            return true;
        }
        if (words.Length != 2)
        {
            error = verb + " takes one queue ID";
            return false;
        }
        if (!TryParseId(words[1], out QueueId? id))
        {
            error = "not a queue ID: \"" + ControlProtocol.Printable(words[1], 40) + "\" (a queue ID is " + ControlProtocol.QueueIdShape + ")";
            return false;
        }
        request = new ControlRequest(c, id);
        error = null;
        return true;
    }

    /// <summary>Reads a queue ID as an administrator types it: any case.</summary>
    /// <param name="text">The text.</param>
    /// <param name="id">The ID in upper case, when <paramref name="text"/> is one.</param>
    /// <returns>Whether <paramref name="text"/> is a queue ID.</returns>
    public static bool TryParseId(string text, [NotNullWhen(true)] out QueueId? id)
    {
        ArgumentNullException.ThrowIfNull(text);
        string upper = text.ToUpperInvariant();
        id = QueueId.IsValid(upper) ? new QueueId(upper) : null;
        return id is not null;
    }

    /// <summary>Octets as printable ASCII: every octet outside 0x20–0x7E becomes <c>?</c>; cut after
    /// <paramref name="maxLength"/> characters.</summary>
    private static string Ascii(ReadOnlySpan<byte> octets, int maxLength)
    {
        var builder = new StringBuilder(Math.Min(octets.Length, maxLength));
        foreach (byte b in octets[..Math.Min(octets.Length, maxLength)]) builder.Append(b is >= 0x20 and <= 0x7E ? (char)b : '?');
        if (octets.Length > maxLength) builder.Append("...");
        return builder.ToString();
    }

    /// <summary>The request line without its LF, e.g. <c>hold 0PF3M2K1Q0000042</c>.</summary>
    /// <returns>The line.</returns>
    public override string ToString() => Query is { } q ? ControlProtocol.Verb(Command) + " " + q
        : Id is { } id ? ControlProtocol.Verb(Command) + " " + id.Value : ControlProtocol.Verb(Command);
}
