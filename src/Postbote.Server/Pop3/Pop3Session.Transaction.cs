using System.Buffers;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Postbote.MailStore;
using Postbote.Protocol.Pop3;

namespace Postbote.Pop3;

/// <summary>The TRANSACTION state (RFC 1939 §5, §7) and the UPDATE state after QUIT (§6).</summary>
internal sealed partial class Pop3Session
{
    /// <summary>The octets of a stored message read at a time: 64 KiB, so a retrieval holds at most about 200 KiB
    /// (this chunk, its encoding and the pipe's segments) whatever the message's size.</summary>
    private const int ReadChunk = 64 * 1024;

    private readonly HashSet<int> _deleted = [];
    private readonly HashSet<int> _retrieved = [];

    private ValueTask TransactionAsync(Pop3Verb verb, ReadOnlyMemory<byte> args)
    {
        Span<Range> parts = stackalloc Range[3];
        int count = Pop3CommandParser.Split(args.Span, parts);
        switch (verb)
        {
            case Pop3Verb.Capa:
                Capabilities();
                return default;
            case Pop3Verb.Stat:
                if (count != 0) { Reply(Pop3Reply.Err("Syntax: STAT")); return default; }
                Reply(Pop3Reply.Ok(string.Create(CultureInfo.InvariantCulture, $"{LiveCount} {LiveSize}")));
                return default;
            case Pop3Verb.List:
            case Pop3Verb.Uidl:
                ListOrUidl(verb, args.Span, parts, count);
                return default;
            case Pop3Verb.Retr:
            {
                if (count != 1 || !TryMessage(args.Span[parts[0]], out int index)) return SyntaxOr("Syntax: RETR msg", count);
                return SendAsync(index, -1);
            }
            case Pop3Verb.Top:
            {
                if (count != 2) { Reply(Pop3Reply.Err("Syntax: TOP msg n")); return default; }
                if (!TryMessage(args.Span[parts[0]], out int index)) return default;
                if (!Pop3CommandParser.TryParseCount(args.Span[parts[1]], out int lines))
                {
                    Reply(Pop3Reply.Err("Syntax: TOP msg n (n a non-negative number of lines)"));
                    return default;
                }
                return SendAsync(index, lines);
            }
            case Pop3Verb.Dele:
            {
                if (count != 1 || !TryMessage(args.Span[parts[0]], out int index)) return SyntaxOr("Syntax: DELE msg", count);
                _deleted.Add(index);
                Reply(Pop3Reply.Ok(string.Create(CultureInfo.InvariantCulture, $"message {index + 1} deleted")));
                return default;
            }
            case Pop3Verb.Noop:
                if (count != 0) { Reply(Pop3Reply.Err("Syntax: NOOP")); return default; }
                Reply(Pop3Reply.Ok());
                return default;
            case Pop3Verb.Rset:
                if (count != 0) { Reply(Pop3Reply.Err("Syntax: RSET")); return default; }
                // RFC 1939 §5: "If any messages have been marked as deleted by the POP3 server, they are unmarked."
                _deleted.Clear();
                Reply(Pop3Reply.Ok(string.Create(CultureInfo.InvariantCulture, $"{LiveCount} messages ({LiveSize} octets)")));
                return default;
            case Pop3Verb.Quit:
                Update();
                return default;
            default:
                WrongState();
                return default;
        }
    }

    private ValueTask SyntaxOr(string syntax, int count)
    {
        // TryMessage has replied when the one argument was there but named no message.
        if (count != 1) Reply(Pop3Reply.Err(syntax));
        return default;
    }

    private IReadOnlyList<MaildropMessage> Messages => _maildrop!.Messages;

    private int LiveCount => Messages.Count - _deleted.Count;

    private long LiveSize
    {
        get
        {
            long total = 0;
            for (int i = 0; i < Messages.Count; i++) if (!_deleted.Contains(i)) total += Messages[i].Size;
            return total;
        }
    }

    /// <summary>Reads a message-number argument and checks that it names a message not marked deleted (RFC 1939 §5:
    /// "may NOT refer to a message marked as deleted"); otherwise replies <c>-ERR</c>.</summary>
    private bool TryMessage(ReadOnlySpan<byte> text, out int index)
    {
        index = -1;
        if (!Pop3CommandParser.TryParseMessageNumber(text, out int number))
        {
            Reply(Pop3Reply.Err("Invalid message number"));
            return false;
        }
        if (number > Messages.Count)
        {
            Reply(Pop3Reply.Err("No such message"));
            return false;
        }
        if (_deleted.Contains(number - 1))
        {
            Reply(Pop3Reply.Err(string.Create(CultureInfo.InvariantCulture, $"Message {number} already deleted")));
            return false;
        }
        index = number - 1;
        return true;
    }

    /// <summary>LIST and UIDL (RFC 1939 §5, §7), for one message or all not marked deleted. LIST gives the size with
    /// CRLF line ends; UIDL the Maildir base name.</summary>
    private void ListOrUidl(Pop3Verb verb, ReadOnlySpan<byte> args, Span<Range> parts, int count)
    {
        bool list = verb == Pop3Verb.List;
        if (count > 1 || count < 0) { Reply(Pop3Reply.Err(list ? "Syntax: LIST [msg]" : "Syntax: UIDL [msg]")); return; }
        if (count == 1)
        {
            if (!TryMessage(args[parts[0]], out int index)) return;
            Reply(Pop3Reply.Ok(Entry(list, index)));
            return;
        }
        Reply(Pop3Reply.Ok(list
            ? string.Create(CultureInfo.InvariantCulture, $"{LiveCount} messages ({LiveSize} octets)")
            : "Unique-ID listing follows"));
        for (int i = 0; i < Messages.Count; i++)
            if (!_deleted.Contains(i)) Line(Entry(list, i));
        EndMultiLine();
    }

    private string Entry(bool list, int index) => list
        ? string.Create(CultureInfo.InvariantCulture, $"{index + 1} {Messages[index].Size}")
        : string.Create(CultureInfo.InvariantCulture, $"{index + 1} {Messages[index].UniqueName}");

    /// <summary>RETR (<paramref name="bodyLines"/> negative) and TOP: streams the stored file through the encoder in
    /// <see cref="ReadChunk"/> pieces, flushing each, so memory stays bounded whatever the size.</summary>
    private async ValueTask SendAsync(int index, int bodyLines)
    {
        Stream file;
        try
        {
            file = _maildrop!.OpenMessage(index);
        }
        catch (FileNotFoundException)
        {
            Reply(Pop3Reply.Err("The message was removed meanwhile", Pop3ResponseCode.SysPerm));
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogError("POP3: cannot read message {Number}: {Error}", index + 1, e.Message);
            Reply(Pop3Reply.Err("Cannot read the message", Pop3ResponseCode.SysTemp));
            return;
        }
        byte[] chunk = ArrayPool<byte>.Shared.Rent(ReadChunk);
        try
        {
            await using (file.ConfigureAwait(false))
            {
                Reply(Pop3Reply.Ok(bodyLines < 0
                    ? string.Create(CultureInfo.InvariantCulture, $"{Messages[index].Size} octets")
                    : "Top of message follows"));
                var encoder = new Pop3MessageEncoder(bodyLines);
                int n;
                while (!encoder.IsComplete && (n = await file.ReadAsync(chunk.AsMemory(0, ReadChunk)).ConfigureAwait(false)) > 0)
                {
                    Span<byte> output = Connection.Output.GetSpan(Pop3MessageEncoder.MaxEncodedLength(n));
                    Connection.Output.Advance(encoder.Encode(chunk.AsSpan(0, n), output));
                    if (!await FlushAsync().ConfigureAwait(false))
                    {
                        _closing = true;
                        return;
                    }
                }
                Connection.Output.Advance(encoder.Finish(Connection.Output.GetSpan(8)));
                _unflushed = true;
            }
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            // The status line and part of the message are out: the multi-line response cannot be ended honestly.
            _log.LogError("POP3: reading message {Number} failed midway: {Error}", index + 1, e.Message);
            _closing = true;
            return;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        // RETR marks the message seen at UPDATE; TOP does not (as in Dovecot): a client peeking at headers has not read it.
        if (bodyLines < 0) _retrieved.Add(index);
    }

    /// <summary>QUIT in the TRANSACTION state: the UPDATE state (RFC 1939 §6), then the lock is released and the
    /// connection closed.</summary>
    private void Update()
    {
        _closing = true;
        int failed;
        try
        {
            failed = _maildrop!.Update(_deleted, _retrieved);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogError("POP3 UPDATE failed: {Error}", e.Message);
            failed = _deleted.Count;
        }
        _maildrop?.Dispose();
        _maildrop = null;
        if (failed > 0)
        {
            // RFC 1939 §6: "-ERR some deleted messages not removed".
            Reply(Pop3Reply.Err("some deleted messages not removed", Pop3ResponseCode.SysTemp));
            return;
        }
        _log.LogInformation("POP3 logout: {Deleted} deleted, {Retrieved} retrieved", _deleted.Count, _retrieved.Count);
        Reply(Pop3Reply.Ok(string.Create(CultureInfo.InvariantCulture, $"Bye, {_deleted.Count} messages deleted")));
    }
}
