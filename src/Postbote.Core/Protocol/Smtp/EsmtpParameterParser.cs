using System.Text;
using Postbote.Core;

namespace Postbote.Protocol.Smtp;

/// <summary>
/// Parses <c>Mail-parameters</c> and <c>Rcpt-parameters</c> (RFC 5321 §4.1.2: <c>esmtp-param *(SP esmtp-param)</c>,
/// <c>esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")</c>, <c>esmtp-value = 1*(%d33-60 / %d62-126)</c>, which
/// RFC 6531 §3.3 widens by UTF-8) and validates the values of the parameters Postbote implements: SIZE (RFC 1870),
/// BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), RET and ENVID (RFC 3461 §4.3, §4.4), AUTH (RFC 4954 §5),
/// NOTIFY and ORCPT (RFC 3461 §4.1, §4.2).
/// </summary>
public static class EsmtpParameterParser
{
    /// <summary>Parses the parameters after a MAIL reverse-path.</summary>
    /// <param name="input">The text after the path; empty when there are none; must start with SP otherwise.</param>
    /// <param name="enabled">The extensions enabled on this session.</param>
    /// <param name="result">The parameters.</param>
    /// <returns>The outcome.</returns>
    public static ParameterParseStatus ParseMail(ReadOnlySpan<byte> input, SmtpExtensions enabled, out MailParameters result)
    {
        result = default;
        if (input.IsEmpty) return ParameterParseStatus.Ok;
        if (input[0] != ' ') return ParameterParseStatus.Malformed;
        uint seen = 0;
        foreach (var (key, value, ok) in new ParamEnumerator(input))
        {
            if (!ok) return Fail(ref result.FaultKeyword, key, ParameterParseStatus.Malformed);
            if (Ascii.EqualsIgnoreCase(key, "SIZE"u8) && Has(enabled, SmtpExtensions.Size))
            {
                if (!Once(ref seen, 1) || !TryDigits(value, 20, out ulong size)) return Fail(ref result.FaultKeyword, key, ParameterParseStatus.Malformed);
                result.Size = size > long.MaxValue ? long.MaxValue : (long)size;
            }
            else if (Ascii.EqualsIgnoreCase(key, "BODY"u8) && Has(enabled, SmtpExtensions.EightBitMime | SmtpExtensions.BinaryMime))
            {
                if (!Once(ref seen, 2)) return Fail(ref result.FaultKeyword, key, ParameterParseStatus.Malformed);
                if (Ascii.EqualsIgnoreCase(value, "7BIT"u8)) result.Body = BodyType.SevenBit;
                else if (Ascii.EqualsIgnoreCase(value, "8BITMIME"u8) && Has(enabled, SmtpExtensions.EightBitMime)) result.Body = BodyType.EightBitMime;
                else if (Ascii.EqualsIgnoreCase(value, "BINARYMIME"u8) && Has(enabled, SmtpExtensions.BinaryMime)) result.Body = BodyType.BinaryMime;
                else return Fail(ref result.FaultKeyword, key, ParameterParseStatus.Malformed);
            }
            else if (Ascii.EqualsIgnoreCase(key, "SMTPUTF8"u8) && Has(enabled, SmtpExtensions.SmtpUtf8))
            {
                if (!Once(ref seen, 4) || !value.IsEmpty) return Fail(ref result.FaultKeyword, key, ParameterParseStatus.Malformed);
                result.SmtpUtf8 = true;
            }
            else if (Ascii.EqualsIgnoreCase(key, "RET"u8) && Has(enabled, SmtpExtensions.Dsn))
            {
                if (!Once(ref seen, 8)) return Fail(ref result.FaultKeyword, key, ParameterParseStatus.Malformed);
                if (Ascii.EqualsIgnoreCase(value, "FULL"u8)) result.Return = DsnReturn.Full;
                else if (Ascii.EqualsIgnoreCase(value, "HDRS"u8)) result.Return = DsnReturn.Headers;
                else return Fail(ref result.FaultKeyword, key, ParameterParseStatus.Malformed);
            }
            else if (Ascii.EqualsIgnoreCase(key, "ENVID"u8) && Has(enabled, SmtpExtensions.Dsn))
            {
                // RFC 3461 §4.4: "ENVID=" xtext, at most 100 characters.
                if (!Once(ref seen, 16) || value.Length > 100 || !IsXText(value)) return Fail(ref result.FaultKeyword, key, ParameterParseStatus.Malformed);
                result.EnvelopeId = Encoding.ASCII.GetString(value);
            }
            else if (Ascii.EqualsIgnoreCase(key, "AUTH"u8))
            {
                // RFC 4954 §5: AUTH=xtext or AUTH=<>. Accepted from any client; trusted only after AUTH.
                if (!Once(ref seen, 32) || !(value.SequenceEqual("<>"u8) || IsXText(value))) return Fail(ref result.FaultKeyword, key, ParameterParseStatus.Malformed);
                result.Auth = Encoding.ASCII.GetString(value);
            }
            else
            {
                return Fail(ref result.FaultKeyword, key, ParameterParseStatus.Unknown);
            }
        }
        return ParameterParseStatus.Ok;
    }

    /// <summary>Parses the parameters after a RCPT forward-path.</summary>
    /// <param name="input">The text after the path; empty when there are none; must start with SP otherwise.</param>
    /// <param name="enabled">The extensions enabled on this session.</param>
    /// <param name="result">The parameters.</param>
    /// <returns>The outcome.</returns>
    public static ParameterParseStatus ParseRcpt(ReadOnlySpan<byte> input, SmtpExtensions enabled, out RcptParameters result)
    {
        result = default;
        if (input.IsEmpty) return ParameterParseStatus.Ok;
        if (input[0] != ' ') return ParameterParseStatus.Malformed;
        uint seen = 0;
        foreach (var (key, value, ok) in new ParamEnumerator(input))
        {
            if (!ok) return Fail(ref result.FaultKeyword, key, ParameterParseStatus.Malformed);
            if (Ascii.EqualsIgnoreCase(key, "NOTIFY"u8) && Has(enabled, SmtpExtensions.Dsn))
            {
                if (!Once(ref seen, 1) || !TryNotify(value, out result.Notify)) return Fail(ref result.FaultKeyword, key, ParameterParseStatus.Malformed);
            }
            else if (Ascii.EqualsIgnoreCase(key, "ORCPT"u8) && Has(enabled, SmtpExtensions.Dsn))
            {
                // RFC 3461 §4.2: ORCPT=addr-type ";" xtext; addr-type = atom; at most 500 characters.
                int semi = value.IndexOf((byte)';');
                if (!Once(ref seen, 2) || semi <= 0 || value.Length > 500 || !IsAtom(value[..semi]) || !IsXText(value[(semi + 1)..]) || semi + 1 == value.Length)
                    return Fail(ref result.FaultKeyword, key, ParameterParseStatus.Malformed);
                result.OriginalRecipient = Encoding.UTF8.GetString(value);
            }
            else
            {
                return Fail(ref result.FaultKeyword, key, ParameterParseStatus.Unknown);
            }
        }
        return ParameterParseStatus.Ok;
    }

    private static ParameterParseStatus Fail(ref string? fault, ReadOnlySpan<byte> key, ParameterParseStatus status)
    {
        fault = key.IsEmpty ? null : Encoding.ASCII.GetString(key.Length > 32 ? key[..32] : key);
        return status;
    }

    private static bool Has(SmtpExtensions enabled, SmtpExtensions any) => (enabled & any) != 0;

    private static bool Once(ref uint seen, uint bit)
    {
        if ((seen & bit) != 0) return false;
        seen |= bit;
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<byte> s, int maxDigits, out ulong value)
    {
        value = 0;
        if (s.IsEmpty || s.Length > maxDigits) return false;
        foreach (byte b in s)
        {
            if (b < '0' || b > '9') return false;
            ulong next = value * 10 + (ulong)(b - '0');
            if (next < value) return false;
            value = next;
        }
        return true;
    }

    // NOTIFY="NOTIFY=" "NEVER" / 1#notify-list-element; notify-list-element = "SUCCESS" / "FAILURE" / "DELAY" (RFC 3461 §4.1)
    private static bool TryNotify(ReadOnlySpan<byte> value, out DsnNotify notify)
    {
        notify = DsnNotify.Default;
        if (Ascii.EqualsIgnoreCase(value, "NEVER"u8)) { notify = DsnNotify.Never; return true; }
        if (value.IsEmpty) return false;
        foreach (Range r in value.Split((byte)','))
        {
            ReadOnlySpan<byte> item = value[r];
            DsnNotify flag = Ascii.EqualsIgnoreCase(item, "SUCCESS"u8) ? DsnNotify.Success
                : Ascii.EqualsIgnoreCase(item, "FAILURE"u8) ? DsnNotify.Failure
                : Ascii.EqualsIgnoreCase(item, "DELAY"u8) ? DsnNotify.Delay
                : DsnNotify.Default;
            if (flag == DsnNotify.Default || (notify & flag) != 0) return false;
            notify |= flag;
        }
        return true;
    }

    /// <summary>Whether a value is <c>xtext</c> (RFC 3461 §4): <c>xchar</c> (33–126 except <c>+</c> and <c>=</c>) or
    /// <c>"+" 2HEXCHAR</c> with upper-case hex digits.</summary>
    /// <param name="s">The value.</param>
    /// <returns><c>true</c> when well-formed.</returns>
    public static bool IsXText(ReadOnlySpan<byte> s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            byte b = s[i];
            if (b == '+')
            {
                if (i + 2 >= s.Length || !IsUpperHex(s[i + 1]) || !IsUpperHex(s[i + 2])) return false;
                i += 2;
            }
            else if (b < 33 || b > 126 || b == '=') return false;
        }
        return true;
    }

    private static bool IsUpperHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'A' and <= (byte)'F';

    private static bool IsAtom(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty) return false;
        foreach (byte b in s) if (!PathParser.IsAText(b)) return false;
        return true;
    }

    private static bool IsKeywordChar(byte b, bool first) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' || (!first && b == '-');

    private readonly ref struct Param(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool ok)
    {
        private readonly ReadOnlySpan<byte> _key = key;
        private readonly ReadOnlySpan<byte> _value = value;
        private readonly bool _ok = ok;

        public void Deconstruct(out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out bool ok)
        {
            key = _key;
            value = _value;
            ok = _ok;
        }
    }

    /// <summary>Enumerates <c>SP esmtp-param</c> items, reporting each as keyword, value and well-formedness.</summary>
    private ref struct ParamEnumerator
    {
        private ReadOnlySpan<byte> _rest;

        public ParamEnumerator(ReadOnlySpan<byte> input) { _rest = input; Current = default; }

        public Param Current { get; private set; }

        public readonly ParamEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_rest.IsEmpty) return false;
            // Parameters are separated by SP; extra spaces are tolerated.
            int i = 0;
            while (i < _rest.Length && _rest[i] == ' ') i++;
            if (i == 0 || i == _rest.Length)
            {
                Current = new Param(default, default, false);
                bool more = i != _rest.Length;
                _rest = default;
                return more;
            }
            ReadOnlySpan<byte> token = _rest[i..];
            int end = token.IndexOf((byte)' ');
            if (end >= 0) { _rest = token[end..]; token = token[..end]; } else _rest = default;
            int eq = token.IndexOf((byte)'=');
            ReadOnlySpan<byte> key = eq < 0 ? token : token[..eq];
            ReadOnlySpan<byte> value = eq < 0 ? default : token[(eq + 1)..];
            bool ok = key.Length > 0;
            for (int k = 0; ok && k < key.Length; k++) ok = IsKeywordChar(key[k], k == 0);
            if (ok && eq >= 0)
            {
                ok = value.Length > 0;
                foreach (byte b in value) if (b < 33 || b == '=' || b == 127) { ok = false; break; } // esmtp-value: %d33-60 / %d62-126, UTF-8 allowed
            }
            Current = new Param(key, value, ok);
            return true;
        }
    }
}
