using System.Text;

namespace Postbote.Security;

/// <summary>
/// The last stage of the chain: writes one <c>Authentication-Results</c> field (RFC 8601 §2.2) with every result the
/// earlier stages recorded (SPF, DKIM, ARC, DMARC …), or <c>none</c> when nothing was checked (§2.2 no-result), under
/// this host's authserv-id; and removes every incoming Authentication-Results field that claims that authserv-id
/// (§5: "a border MTA MUST delete existing instances of the header field that claim to be from its own ADMD"; the
/// removal is done for every message). Authenticated sessions and trusted networks were not checked: their messages get
/// no field.
/// </summary>
public sealed class AuthenticationResultsPolicy : IInboundPolicy
{
    private const string FieldName = "Authentication-Results";
    private readonly string _authServId;
    private readonly bool _writeField;

    /// <summary>Creates the writer.</summary>
    /// <param name="authServId">The authserv-id: the <c>hostname</c> setting (RFC 8601 §2.5: "the authserv-id ... is
    /// the name of the host").</param>
    /// <param name="writeField">Whether the field is written: <c>false</c> when every check is turned off, so that
    /// only the removal of forged fields is left.</param>
    /// <exception cref="ArgumentException"><paramref name="authServId"/> is empty.</exception>
    public AuthenticationResultsPolicy(string authServId, bool writeField = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(authServId);
        _authServId = authServId;
        _writeField = writeField;
    }

    /// <inheritdoc />
    public ValueTask<PolicyDecision> CheckDataAsync(SessionInfo session, InboundMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(message);
        IReadOnlyList<MessageRange> forged = FindFields(message.HeaderSection.Span, _authServId);
        bool checkedSession = _writeField && !session.IsOwnClient;
        IReadOnlyList<string>? add = checkedSession ? [Render(_authServId, message.Transaction.Results)] : null;
        if (add is null && forged.Count == 0) return ValueTask.FromResult(PolicyDecision.Accept);
        return ValueTask.FromResult(PolicyDecision.AcceptWith(add) with { RemoveRanges = forged.Count == 0 ? null : forged });
    }

    /// <summary>The field, folded one result per line: <c>Authentication-Results: host;</c> CRLF TAB
    /// <c>spf=pass (comment) smtp.mailfrom=…;</c> CRLF TAB <c>dkim=…</c>, or <c>Authentication-Results: host; none</c>.</summary>
    /// <param name="authServId">The authserv-id.</param>
    /// <param name="results">The results in the order recorded.</param>
    /// <returns>The field without its final CRLF.</returns>
    public static string Render(string authServId, IReadOnlyList<AuthenticationResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (results.Count == 0) return $"{FieldName}: {authServId}; none";
        var s = new StringBuilder(256).Append(FieldName).Append(": ").Append(authServId).Append(';');
        for (int i = 0; i < results.Count; i++)
        {
            AuthenticationResult r = results[i];
            s.Append("\r\n\t").Append(r.Method).Append('=').Append(r.Result);
            if (!string.IsNullOrWhiteSpace(r.Reason)) AppendComment(s.Append(" ("), r.Reason).Append(')');
            if (r.Properties is { } properties)
                for (int k = 0; k < properties.Count; k++)
                {
                    AuthenticationProperty p = properties[k];
                    AppendValue(s.Append(' ').Append(p.Type).Append('.').Append(p.Property).Append('='), p.Value);
                }
            if (i < results.Count - 1) s.Append(';');
        }
        return s.ToString();
    }

    /// <summary>Appends a comment (RFC 5322 §3.2.2 ctext): printable US-ASCII without parentheses and backslash, at most
    /// 200 characters, white space at both ends dropped.</summary>
    private static StringBuilder AppendComment(StringBuilder s, string text)
    {
        ReadOnlySpan<char> t = text.AsSpan(0, Math.Min(text.Length, 200));
        int start = s.Length;
        foreach (char c in t) s.Append(c is < ' ' or > '~' or '(' or ')' or '\\' ? ' ' : c);
        int end = s.Length;
        while (end > start && s[end - 1] == ' ') end--;
        s.Length = end;
        int lead = 0;
        while (start + lead < end && s[start + lead] == ' ') lead++;
        return lead > 0 ? s.Remove(start, lead) : s;
    }

    /// <summary>Appends an RFC 8601 §2.2 pvalue: a token, an address <c>local@domain</c> or a domain as it is, anything
    /// else as a quoted-string.</summary>
    private static StringBuilder AppendValue(StringBuilder s, string value)
    {
        bool plain = value.Length > 0;
        foreach (char c in value)
            if (c is <= ' ' or > '~' or '(' or ')' or '<' or '>' or ',' or ';' or ':' or '\\' or '"' or '/' or '[' or ']' or '?' or '=')
                plain = false;
        if (plain) return s.Append(value);
        s.Append('"');
        foreach (char c in value)
        {
            if (c is '"' or '\\') s.Append('\\');
            s.Append(c is < ' ' or > '~' ? ' ' : c);
        }
        return s.Append('"');
    }

    /// <summary>The Authentication-Results fields of a header section whose authserv-id is <paramref name="authServId"/>
    /// (case-insensitive), each from its first byte to the CRLF that ends its last line.</summary>
    /// <param name="section">The header section as received.</param>
    /// <param name="authServId">The authserv-id.</param>
    /// <returns>The ranges, in order.</returns>
    public static IReadOnlyList<MessageRange> FindFields(ReadOnlySpan<byte> section, string authServId)
    {
        var ranges = new List<MessageRange>();
        int at = 0;
        while (at < section.Length)
        {
            int end = FieldEnd(section, at);
            if (end == at) break; // the empty line that ends the section, or a cut line
            ReadOnlySpan<byte> field = section[at..end];
            int colon = field.IndexOf((byte)':');
            if (colon > 0 && Ascii.EqualsIgnoreCase(field[..colon].TrimEnd(" \t"u8), FieldName))
            {
                string value = Encoding.ASCII.GetString(field[(colon + 1)..]);
                if (AuthServId(value).Equals(authServId, StringComparison.OrdinalIgnoreCase)) ranges.Add(new MessageRange(at, end - at));
            }
            at = end;
        }
        return ranges;
    }

    /// <summary>Where the field starting at <paramref name="start"/> ends: after the CRLF of its last line (lines that
    /// begin with white space continue it); <paramref name="start"/> itself for the empty line or a line without CRLF.</summary>
    private static int FieldEnd(ReadOnlySpan<byte> section, int start)
    {
        if (section[start..].StartsWith("\r\n"u8)) return start;
        int at = start;
        while (true)
        {
            int nl = section[at..].IndexOf("\r\n"u8);
            if (nl < 0) return start;
            at += nl + 2;
            if (at >= section.Length || section[at] is not ((byte)' ' or (byte)'\t')) return at;
        }
    }

    /// <summary>The authserv-id: the first token of the value, after white space and comments, up to white space, a
    /// comment or the semicolon.</summary>
    private static string AuthServId(string value)
    {
        int i = 0, depth = 0;
        while (i < value.Length)
        {
            char c = value[i];
            if (c == '(') depth++;
            else if (c == ')' && depth > 0) depth--;
            else if (depth == 0 && !char.IsWhiteSpace(c)) break;
            i++;
        }
        int j = i;
        while (j < value.Length && !char.IsWhiteSpace(value[j]) && value[j] is not (';' or '(')) j++;
        return value[i..j];
    }
}
