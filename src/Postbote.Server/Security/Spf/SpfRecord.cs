using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Postbote.Security.Spf;

/// <summary>
/// A parsed SPF record (RFC 7208 §4.6): its directives in order and the two modifiers with meaning (§6). Parsed whole
/// before anything is evaluated (§4.6: "If there are any syntax errors anywhere in the record, check_host() returns
/// immediately with the result "permerror", without further interpretation or evaluation.").
/// </summary>
internal sealed partial class SpfRecord
{
    private SpfRecord(IReadOnlyList<SpfMechanism> mechanisms, string? redirect, string? explanation)
    {
        Mechanisms = mechanisms;
        Redirect = redirect;
        Explanation = explanation;
    }

    /// <summary>The directives, in order.</summary>
    public IReadOnlyList<SpfMechanism> Mechanisms { get; }

    /// <summary>The domain-spec of <c>redirect=</c>, or <c>null</c>.</summary>
    public string? Redirect { get; }

    /// <summary>The domain-spec of <c>exp=</c>, or <c>null</c>.</summary>
    public string? Explanation { get; }

    /// <summary>Whether a TXT record is an SPF record: it starts with <c>v=spf1</c> (case does not matter) followed by
    /// a space or its end (RFC 7208 §4.5: "Starting with the set of records that were returned by the lookup, discard
    /// records that do not begin with a version section of exactly "v=spf1".").</summary>
    public static bool IsSpfRecord(string text) =>
        text.StartsWith("v=spf1", StringComparison.OrdinalIgnoreCase) && (text.Length == 6 || text[6] == ' ');

    /// <summary>Parses a record that <see cref="IsSpfRecord"/> accepted.</summary>
    /// <param name="text">The record text.</param>
    /// <param name="record">The record.</param>
    /// <param name="error">Why it does not parse.</param>
    /// <returns>Whether it parsed.</returns>
    public static bool TryParse(string text, out SpfRecord? record, out string? error)
    {
        record = null;
        var mechanisms = new List<SpfMechanism>();
        string? redirect = null, explanation = null;
        // §4.6.1: terms = *( 1*SP ( directive / modifier ) ); record = version terms *SP.
        foreach (string term in text[6..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (char c in term)
            {
                // §3.1 and §4.6.1: a term is visible US-ASCII; a control character or a non-ASCII one is a syntax error.
                if (c is < '!' or > '~')
                {
                    error = $"'{Printable(term)}' holds a character that is not visible US-ASCII";
                    return false;
                }
            }
            Match modifier = ModifierPattern().Match(term);
            if (modifier.Success)
            {
                string name = modifier.Groups[1].Value.ToLowerInvariant();
                string value = term[(modifier.Length)..];
                if (!SpfMacro.IsValid(value, explanation: false))
                {
                    error = $"'{term}': the value is not a valid macro-string";
                    return false;
                }
                if (name is "redirect" or "exp")
                {
                    // §6: "these two modifiers MUST NOT appear in a record more than once each."
                    if ((name == "redirect" ? redirect : explanation) is not null)
                    {
                        error = $"'{name}=' appears more than once";
                        return false;
                    }
                    if (!SpfMacro.IsValidDomainSpec(value))
                    {
                        error = $"'{term}': not a valid domain-spec";
                        return false;
                    }
                    if (name == "redirect") redirect = value;
                    else explanation = value;
                }
                // §6: "Unrecognized modifiers MUST be ignored".
                continue;
            }
            if (!TryParseDirective(term, out SpfMechanism? mechanism, out error)) return false;
            mechanisms.Add(mechanism!);
        }
        error = null;
        record = new SpfRecord(mechanisms, redirect, explanation);
        return true;
    }

    private static bool TryParseDirective(string term, out SpfMechanism? mechanism, out string? error)
    {
        mechanism = null;
        SpfResult result = SpfResult.Pass;
        string rest = term;
        switch (term[0])
        {
            case '+': result = SpfResult.Pass; rest = term[1..]; break;
            case '-': result = SpfResult.Fail; rest = term[1..]; break;
            case '~': result = SpfResult.Softfail; rest = term[1..]; break;
            case '?': result = SpfResult.Neutral; rest = term[1..]; break;
        }
        int split = rest.IndexOfAny([':', '/']);
        string name = (split < 0 ? rest : rest[..split]).ToLowerInvariant();
        string argument = split < 0 ? "" : rest[split..];
        error = $"'{term}' is not a valid mechanism";
        switch (name)
        {
            case "all":
                if (argument.Length != 0) return false;
                mechanism = new SpfMechanism(result, SpfMechanismKind.All, null, null, 32, 128);
                return true;
            case "include":
            case "exists":
                if (!argument.StartsWith(':') || !SpfMacro.IsValidDomainSpec(argument[1..])) return false;
                mechanism = new SpfMechanism(result, name == "include" ? SpfMechanismKind.Include : SpfMechanismKind.Exists, argument[1..], null, 32, 128);
                return true;
            case "ptr":
                if (argument.Length != 0 && (!argument.StartsWith(':') || !SpfMacro.IsValidDomainSpec(argument[1..]))) return false;
                mechanism = new SpfMechanism(result, SpfMechanismKind.Ptr, argument.Length == 0 ? null : argument[1..], null, 32, 128);
                return true;
            case "a":
            case "mx":
            {
                Match m = DualCidrPattern().Match(argument);
                string spec = m.Groups["spec"].Value;
                int cidr4 = 32, cidr6 = 128;
                if (m.Groups["c4"].Success && !TryCidr(m.Groups["c4"].Value, 32, out cidr4)) return false;
                if (m.Groups["c6"].Success && !TryCidr(m.Groups["c6"].Value, 128, out cidr6)) return false;
                string? domainSpec = null;
                if (spec.Length > 0)
                {
                    if (!spec.StartsWith(':') || !SpfMacro.IsValidDomainSpec(spec[1..])) return false;
                    domainSpec = spec[1..];
                }
                mechanism = new SpfMechanism(result, name == "a" ? SpfMechanismKind.A : SpfMechanismKind.Mx, domainSpec, null, cidr4, cidr6);
                return true;
            }
            case "ip4":
            case "ip6":
            {
                if (!argument.StartsWith(':')) return false;
                string network = argument[1..];
                bool v4 = name == "ip4";
                int slash = network.IndexOf('/');
                int cidr = v4 ? 32 : 128;
                if (slash >= 0)
                {
                    if (!TryCidr(network[(slash + 1)..], v4 ? 32 : 128, out cidr)) return false;
                    network = network[..slash];
                }
                if (!(v4 ? TryIp4(network, out IPAddress? address) : TryIp6(network, out address))) return false;
                mechanism = new SpfMechanism(result, v4 ? SpfMechanismKind.Ip4 : SpfMechanismKind.Ip6, null, address, v4 ? cidr : 32, v4 ? 128 : cidr);
                return true;
            }
            default:
                return false;
        }
    }

    /// <summary>§5.6: <c>ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT)</c>, at most 32; ip6 likewise up to 128.</summary>
    private static bool TryCidr(string text, int max, out int value)
    {
        value = 0;
        if (text.Length is 0 or > 3 || (text.Length > 1 && text[0] == '0') || !text.All(char.IsAsciiDigit)) return false;
        value = int.Parse(text, CultureInfo.InvariantCulture);
        return value <= max;
    }

    /// <summary>§5.6 <c>ip4-network = qnum "." qnum "." qnum "." qnum</c>, each 0 to 255 without leading zeros.</summary>
    private static bool TryIp4(string text, out IPAddress? address)
    {
        address = null;
        string[] parts = text.Split('.');
        if (parts.Length != 4) return false;
        foreach (string p in parts)
        {
            if (p.Length is 0 or > 3 || (p.Length > 1 && p[0] == '0') || !p.All(char.IsAsciiDigit) || int.Parse(p, CultureInfo.InvariantCulture) > 255)
                return false;
        }
        address = IPAddress.Parse(text);
        return true;
    }

    /// <summary>§5.6 <c>ip6-network = &lt;as per [RFC4291], section 2.2&gt;</c>.</summary>
    private static bool TryIp6(string text, out IPAddress? address)
    {
        address = null;
        if (!text.Contains(':', StringComparison.Ordinal) || text.Contains('%', StringComparison.Ordinal) || text.Contains('[', StringComparison.Ordinal))
            return false;
        if (!IPAddress.TryParse(text, out IPAddress? parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6) return false;
        address = parsed;
        return true;
    }

    private static string Printable(string s) => string.Concat(s.Select(c => c is < ' ' or > '~' ? $"\\x{(int)c:X2}" : c.ToString()));

    /// <summary>§4.6.1 <c>modifier = name "=" macro-string</c>, <c>name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )</c>.</summary>
    [GeneratedRegex("^([A-Za-z][A-Za-z0-9._-]*)=")]
    private static partial Regex ModifierPattern();

    /// <summary>§5.3 <c>[ ":" domain-spec ] [ dual-cidr-length ]</c>, the CIDR lengths taken from the end.</summary>
    [GeneratedRegex("^(?<spec>.*?)(?:/(?<c4>[0-9]+))?(?://(?<c6>[0-9]+))?$", RegexOptions.Singleline)]
    private static partial Regex DualCidrPattern();
}
