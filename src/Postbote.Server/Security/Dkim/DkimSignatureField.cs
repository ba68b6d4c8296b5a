using System.Globalization;

namespace Postbote.Security.Dkim;

/// <summary>
/// One DKIM-Signature field read and checked against RFC 6376 §6.1.1 ("Validate the Signature Header Field"): version
/// 1, the required tags <c>a b bh d h s</c>, an algorithm this verifier accepts, <c>h=</c> naming From, <c>i=</c> in
/// <c>d=</c>, <c>q=</c> offering <c>dns/txt</c>, and not expired (<c>x=</c>). A field that fails any of these is
/// PERMFAIL, given as <see cref="Error"/>.
/// </summary>
internal sealed class DkimSignatureField
{
    private DkimSignatureField(Dictionary<string, string> tags) => Tags = tags;

    /// <summary>The tags as written (values trimmed).</summary>
    public Dictionary<string, string> Tags { get; }

    /// <summary>Why the field is unusable (the result is permerror), or <c>null</c>.</summary>
    public string? Error { get; private set; }

    /// <summary>The key type the algorithm needs: <c>rsa</c> or <c>ed25519</c>.</summary>
    public string KeyType { get; private set; } = "";

    /// <summary>"relaxed" header canonicalization (else "simple").</summary>
    public bool RelaxedHeader { get; private set; }

    /// <summary>"relaxed" body canonicalization (else "simple").</summary>
    public bool RelaxedBody { get; private set; }

    /// <summary>The signing domain, lower case.</summary>
    public string Domain { get; private set; } = "";

    /// <summary>The selector.</summary>
    public string Selector => Tags.GetValueOrDefault("s", "");

    /// <summary>The identity: <c>i=</c>, or "@" and the domain (§3.5: "The default value is ... "@" followed by the
    /// domain from the "d=" tag").</summary>
    public string Identity { get; private set; } = "";

    /// <summary>The signed header field names (<c>h=</c>), in order.</summary>
    public List<string> SignedNames { get; private set; } = [];

    /// <summary>The body hash (<c>bh=</c>), decoded.</summary>
    public byte[] BodyHash { get; private set; } = [];

    /// <summary>The signature (<c>b=</c>), decoded.</summary>
    public byte[] Signature { get; private set; } = [];

    /// <summary>The body length count (<c>l=</c>) in octets, or −1 when absent.</summary>
    public long Length { get; private set; } = -1;

    /// <summary>The first 8 characters of <c>b=</c>, for <c>header.b</c>.</summary>
    public string SignaturePrefix { get; private set; } = "";

    /// <summary>Reads and checks a field value.</summary>
    /// <param name="value">The field body after the colon.</param>
    /// <param name="now">The time to check <c>x=</c> against.</param>
    /// <returns>The field; check <see cref="Error"/>.</returns>
    public static DkimSignatureField Read(string value, DateTimeOffset now)
    {
        Dictionary<string, string>? tags = DkimTags.Parse(value);
        var f = new DkimSignatureField(tags ?? new Dictionary<string, string>(StringComparer.Ordinal));
        f.Error = tags is null ? "signature field is not a valid tag list" : f.Check(now);
        return f;
    }

    private static readonly string[] Required = ["a", "b", "bh", "d", "h", "s"];

    private string? Check(DateTimeOffset now)
    {
        string d = Tags.GetValueOrDefault("d", "");
        Domain = d.ToLowerInvariant();
        Identity = Tags.TryGetValue("i", out string? i) ? i : "@" + d;
        string b = Tags.GetValueOrDefault("b", "");
        SignaturePrefix = Prefix(b, 8);
        // "v= ... This tag MUST always be present and its value MUST be "1"" (compatibility: "incompatible version").
        if (Tags.GetValueOrDefault("v") != "1") return "incompatible version";
        foreach (string required in Required)
            if (!Tags.TryGetValue(required, out string? v) || (required != "b" && v.Length == 0)) return "signature missing required tag " + required + "=";
        string a = Tags["a"];
        if (a.Equals("rsa-sha256", StringComparison.OrdinalIgnoreCase)) KeyType = "rsa";
        else if (a.Equals("ed25519-sha256", StringComparison.OrdinalIgnoreCase)) KeyType = "ed25519";
        // RFC 8301 §3.1: "Verifiers MUST NOT consider signatures using the "rsa-sha1" algorithm valid".
        else if (a.Equals("rsa-sha1", StringComparison.OrdinalIgnoreCase)) return "rsa-sha1 is not accepted (RFC 8301)";
        else return "unsupported algorithm " + a;
        if (Tags.TryGetValue("c", out string? c))
        {
            // "c=header/body"; a lone "header" means simple for the body.
            ReadOnlySpan<char> cs = c;
            int slash = cs.IndexOf('/');
            ReadOnlySpan<char> header = slash < 0 ? cs : cs[..slash], body = slash < 0 ? "simple" : cs[(slash + 1)..];
            bool? relaxedHeader = Relaxed(header), relaxedBody = Relaxed(body);
            if (relaxedHeader is null || relaxedBody is null) return "unsupported canonicalization " + c;
            RelaxedHeader = relaxedHeader.Value;
            RelaxedBody = relaxedBody.Value;
        }
        SignedNames = DkimTags.List(Tags["h"]);
        // "The field MUST contain the From header field".
        if (!SignedNames.Exists(n => n.Equals("From", StringComparison.OrdinalIgnoreCase))) return "From field not signed";
        if (Tags.TryGetValue("q", out string? q) && !DkimTags.List(q).Exists(x => x.StartsWith("dns/txt", StringComparison.OrdinalIgnoreCase)))
            return "unsupported query method " + q;
        // "the domain part of the "i=" tag ... MUST be the same as, or a subdomain of, the value of the "d=" tag".
        if (i is not null)
        {
            int at = i.LastIndexOf('@');
            ReadOnlySpan<char> id = at < 0 ? "" : i.AsSpan(at + 1);
            bool inside = id.Equals(Domain, StringComparison.OrdinalIgnoreCase)
                || (id.Length > Domain.Length && id[^(Domain.Length + 1)] == '.' && id.EndsWith(Domain, StringComparison.OrdinalIgnoreCase));
            if (at < 0 || !inside) return "domain mismatch (i= is not in d=)";
        }
        if (Tags.TryGetValue("l", out string? l))
        {
            if (!long.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out long n)) return "l= is not a number";
            Length = n;
        }
        // "Signatures MAY be considered invalid if the verification time at the Verifier is past the expiration date."
        if (Tags.TryGetValue("x", out string? x))
        {
            if (!long.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out long expires)) return "x= is not a number";
            if (now.ToUnixTimeSeconds() > expires) return "signature expired";
        }
        try
        {
            // Base64 decoding skips SP, HTAB, CR and LF: the folding white space the values may hold.
            BodyHash = Convert.FromBase64String(Tags["bh"]);
            Signature = Convert.FromBase64String(b);
        }
        catch (FormatException)
        {
            return "b= or bh= is not base64";
        }
        return null;
    }

    /// <summary>A canonicalization name: relaxed (true), simple (false), or anything else (<c>null</c>).</summary>
    private static bool? Relaxed(ReadOnlySpan<char> name) =>
        name.Equals("relaxed", StringComparison.OrdinalIgnoreCase) ? true
        : name.Equals("simple", StringComparison.OrdinalIgnoreCase) ? false
        : null;

    /// <summary>The first <paramref name="count"/> characters of a value that are not white space.</summary>
    private static string Prefix(string value, int count)
    {
        Span<char> kept = stackalloc char[count];
        int n = 0;
        foreach (char ch in value)
        {
            if (ch is ' ' or '\t' or '\r' or '\n') continue;
            kept[n++] = ch;
            if (n == count) break;
        }
        return new string(kept[..n]);
    }
}
