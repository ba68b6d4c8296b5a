namespace Postbote.Testing.Smtp;

/// <summary>What a read of one SMTP reply produced.</summary>
/// <param name="Code">The reply code of the final line, 0 when no complete reply came.</param>
/// <param name="Text">Every line of the reply, CRLFs included.</param>
/// <param name="Closed">The server closed the connection before (or instead of) a complete reply.</param>
/// <param name="TimedOut">No complete reply came within the time allowed.</param>
public sealed record SmtpResponse(int Code, string Text, bool Closed, bool TimedOut)
{
    /// <summary>The octets of the reply as received (<see cref="Text"/> is their UTF-8 reading).</summary>
    public byte[] Bytes { get; init; } = [];

    /// <summary>The text of the final line without its CRLF.</summary>
    public string LastLine
    {
        get
        {
            var lines = Text.TrimEnd('\r', '\n').Split('\n');
            return lines[^1].TrimEnd('\r');
        }
    }

    /// <inheritdoc/>
    public override string ToString() =>
        Code != 0 ? Text.TrimEnd() : Closed ? $"<closed> {Text}".TrimEnd() : TimedOut ? $"<timeout> {Text}".TrimEnd() : Text;
}
