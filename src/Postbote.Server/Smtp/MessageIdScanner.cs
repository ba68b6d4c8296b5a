using System.Text;

namespace Postbote.Smtp;

/// <summary>
/// Finds the Message-ID header field (RFC 5322 §3.6.4) in a message's header section as it streams past, chunk by
/// chunk, for the trace of the message: keeps only the field being read (at most <see cref="MaxField"/> octets, folded
/// lines joined) and stops at the end of the header section. Nothing is allocated for fields of other names.
/// </summary>
internal sealed class MessageIdScanner
{
    /// <summary>The longest Message-ID field kept, in octets: 998, the longest line RFC 5322 §2.1.1 allows.</summary>
    public const int MaxField = 998;

    private readonly byte[] _field = new byte[MaxField];
    private int _length;
    private bool _lineStart = true;
    private bool _inMessageId;
    private bool _skipping;
    private bool _done;

    /// <summary>The field's value, trimmed (e.g. <c>&lt;abc@example.org&gt;</c>), once found; else <c>null</c>.</summary>
    public string? MessageId { get; private set; }

    /// <summary>Reads more of the message.</summary>
    /// <param name="octets">The next octets, as received (CRLF line ends, the Received header first).</param>
    public void Feed(ReadOnlySpan<byte> octets)
    {
        foreach (byte b in octets)
        {
            if (_done) return;
            if (_lineStart)
            {
                _lineStart = false;
                if (b is (byte)' ' or (byte)'\t')
                {
                    // A folded continuation of the field before.
                    if (_inMessageId) Add(b);
                    continue;
                }
                if (_inMessageId) Finish();
                if (b is (byte)'\r' or (byte)'\n')
                {
                    _done = true; // the empty line: the end of the header section
                    return;
                }
                _skipping = false;
                _length = 0;
            }
            if (b == (byte)'\n')
            {
                _lineStart = true;
                continue;
            }
            if (b == (byte)'\r' || _skipping) continue;
            if (_inMessageId)
            {
                Add(b);
                continue;
            }
            if (b == (byte)':')
            {
                if (_field.AsSpan(0, _length).Trim((byte)' ').SequenceEqual("message-id"u8)) _inMessageId = true;
                else _skipping = true;
                _length = 0;
                continue;
            }
            if (_length < 16) _field[_length++] = (byte)(b is >= (byte)'A' and <= (byte)'Z' ? b + 32 : b);
            else _skipping = true;
        }
    }

    private void Add(byte b)
    {
        if (_length < _field.Length) _field[_length++] = b;
    }

    private void Finish()
    {
        _inMessageId = false;
        if (MessageId is null)
        {
            string value = Encoding.UTF8.GetString(_field, 0, _length).Trim();
            var text = new StringBuilder(value.Length);
            foreach (char c in value) text.Append(char.IsControl(c) ? ' ' : c);
            if (text.Length > 0) MessageId = text.ToString();
        }
        _done = MessageId is not null;
        _length = 0;
    }

    /// <summary>Starts over for the next message.</summary>
    public void Reset()
    {
        _length = 0;
        _lineStart = true;
        _inMessageId = _skipping = _done = false;
        MessageId = null;
    }
}
