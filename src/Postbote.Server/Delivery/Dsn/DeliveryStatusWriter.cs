using System.Text;

namespace Postbote.Delivery.Dsn;

/// <summary>
/// Writes the body of a <c>message/delivery-status</c> part (RFC 3464 §2.1.2): the per-message fields, then each
/// recipient's fields, the groups separated by one empty line and the last field ending in CRLF, with no empty line after
/// it (which a parser would take for an empty group). Fields are folded at a space before 78 characters where the value
/// allows (RFC 5322 §2.1.1), and never left longer than 998.
/// </summary>
internal sealed class DeliveryStatusWriter
{
    private const int FoldAt = 78;
    private const int MaxLine = 998;

    private readonly StringBuilder _text = new();
    private bool _groupOpen;

    /// <summary>Starts the next group of fields (the per-message fields are the first).</summary>
    public void BeginGroup()
    {
        if (_groupOpen) _text.Append("\r\n");
        _groupOpen = false;
    }

    /// <summary>Adds one field; the value must be printable ASCII (see <see cref="DsnFields.Printable"/>).</summary>
    public void Add(string name, string value)
    {
        _groupOpen = true;
        int lineStart = _text.Length;
        _text.Append(name).Append(':');
        foreach (string word in value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int lineLength = _text.Length - lineStart;
            if (lineLength + 1 + word.Length > FoldAt && lineLength > name.Length + 1)
            {
                _text.Append("\r\n");
                lineStart = _text.Length;
            }
            _text.Append(' ');
            for (int i = 0; i < word.Length; i += MaxLine - 2)
            {
                if (i > 0)
                {
                    _text.Append("\r\n ");
                    lineStart = _text.Length - 1;
                }
                _text.Append(word, i, Math.Min(MaxLine - 2, word.Length - i));
            }
        }
        _text.Append("\r\n");
    }

    /// <summary>The body written so far, as ASCII octets.</summary>
    public byte[] ToBytes() => Encoding.ASCII.GetBytes(_text.ToString());
}
