using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Postbote.Testing.Dkim;

/// <summary>
/// dkimpy (Debian's python3-dkim, run with /usr/bin/python3) as the other side of DKIM and ARC: verifies signatures and
/// ARC chains with the keys looked up on a DNS server on loopback (nsd, through dnspython), and makes ARC sets with
/// <c>dkim.arc_sign</c> as its <c>arcsign</c> command does. Written on nothing of Postbote's.
/// </summary>
public static class DkimPy
{
    private const string Script = """
        import sys, json, dkim, dkim.util, dns.resolver
        mode, server, port, path = sys.argv[1:5]
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = [server]
        r.port = int(port)
        r.lifetime = 5
        def dnsfunc(name, timeout=5):
            if isinstance(name, bytes): name = name.decode()
            try:
                answer = r.resolve(name.rstrip('.'), 'TXT')
            except Exception:
                return None
            for rd in answer:
                return b''.join(rd.strings)
            return None
        msg = open(path, 'rb').read()
        if mode == 'verify':
            d = dkim.DKIM(msg)
            sigs = [v for (k, v) in d.headers if k.lower() == b'dkim-signature']
            out = []
            for i, v in enumerate(sigs):
                tags = dkim.util.parse_tag_value(v)
                try:
                    ok = d.verify(idx=i, dnsfunc=dnsfunc)
                except dkim.DKIMException:
                    ok = False
                out.append({'a': tags[b'a'].decode(), 'd': tags[b'd'].decode(), 's': tags[b's'].decode(),
                            'h': tags[b'h'].decode().replace(' ', ''), 'pass': bool(ok)})
            print(json.dumps(out))
        elif mode == 'arcverify':
            cv, results, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
            print(json.dumps({'cv': cv.decode(), 'reason': reason, 'instances': len(results)}))
        elif mode == 'sign':
            selector, domain, keyfile, alg, canon, length = sys.argv[5:11]
            key = open(keyfile, 'rb').read()
            if alg == 'ed25519-sha256':
                # dkimpy takes an Ed25519 key as the base64 of its 32-octet seed: in the PKCS#8 DER, the OCTET STRING
                # inside the privateKey OCTET STRING (04 22 04 20 ...); a public key may follow it.
                import base64
                der = base64.b64decode(b''.join(l for l in key.splitlines() if not l.startswith(b'-----')))
                at = der.index(b'\x04\x22\x04\x20') + 4
                key = base64.b64encode(der[at:at + 32])
            h, b = canon.split('/')
            sig = dkim.sign(msg, selector.encode(), domain.encode(), key, canonicalize=(h.encode(), b.encode()),
                            signature_algorithm=alg.encode(), length=(length == 'l'))
            sys.stdout.buffer.write(sig + msg)
        elif mode == 'arcsign':
            selector, domain, keyfile, srvid = sys.argv[5:9]
            key = open(keyfile, 'rb').read()
            lines = dkim.arc_sign(msg, selector.encode(), domain.encode(), key, srvid.encode())
            sys.stdout.buffer.write(b''.join(lines) + msg)
        """;

    /// <summary>One DKIM-Signature as dkimpy saw it.</summary>
    /// <param name="Algorithm">Its <c>a=</c>.</param>
    /// <param name="Domain">Its <c>d=</c>.</param>
    /// <param name="Selector">Its <c>s=</c>.</param>
    /// <param name="SignedHeaders">Its <c>h=</c>, without spaces.</param>
    /// <param name="Pass">Whether it verified.</param>
    public sealed record Signature(string Algorithm, string Domain, string Selector, string SignedHeaders, bool Pass);

    /// <summary>dkimpy's verdict on an ARC chain.</summary>
    /// <param name="Cv">The chain validation status: <c>pass</c>, <c>fail</c> or <c>none</c>.</param>
    /// <param name="Reason">Its reason.</param>
    /// <param name="Instances">The number of ARC sets it looked at.</param>
    public sealed record ArcVerdict(string Cv, string Reason, int Instances);

    /// <summary>Verifies every DKIM-Signature of <paramref name="message"/>, keys from <paramref name="dns"/>.</summary>
    public static async Task<IReadOnlyList<Signature>> VerifyAsync(byte[] message, IPEndPoint dns)
    {
        string output = Encoding.UTF8.GetString(await RunAsync("verify", message, dns));
        var list = new List<Signature>();
        foreach (JsonElement e in JsonDocument.Parse(output).RootElement.EnumerateArray())
        {
            list.Add(new Signature(e.GetProperty("a").GetString()!, e.GetProperty("d").GetString()!, e.GetProperty("s").GetString()!,
                e.GetProperty("h").GetString()!, e.GetProperty("pass").GetBoolean()));
        }
        return list;
    }

    /// <summary>Validates the ARC chain of <paramref name="message"/>, keys from <paramref name="dns"/>.</summary>
    public static async Task<ArcVerdict> ArcVerifyAsync(byte[] message, IPEndPoint dns)
    {
        JsonElement e = JsonDocument.Parse(Encoding.UTF8.GetString(await RunAsync("arcverify", message, dns))).RootElement;
        return new ArcVerdict(e.GetProperty("cv").GetString()!, e.GetProperty("reason").GetString() ?? "", e.GetProperty("instances").GetInt32());
    }

    /// <summary>Signs with <c>dkim.sign</c>, as dkimpy's <c>dkimsign</c> command does, with the canonicalization
    /// and algorithm given; the key is a PEM file (RSA in PKCS#1 or PKCS#8, Ed25519 in PKCS#8).</summary>
    /// <param name="message">The message, CRLF line ends.</param>
    /// <param name="selector">The selector (<c>s=</c>).</param>
    /// <param name="domain">The signing domain (<c>d=</c>).</param>
    /// <param name="keyFile">The private key.</param>
    /// <param name="algorithm"><c>rsa-sha256</c> or <c>ed25519-sha256</c>.</param>
    /// <param name="canonicalization">E.g. <c>relaxed/simple</c>.</param>
    /// <param name="bodyLength">Whether to sign with <c>l=</c> (the body length).</param>
    /// <returns>The DKIM-Signature field followed by the message.</returns>
    public static Task<byte[]> SignAsync(byte[] message, string selector, string domain, string keyFile, string algorithm,
        string canonicalization, bool bodyLength = false) =>
        // Signing looks nothing up: the resolver address the script takes first is not used.
        RunAsync("sign", message, new IPEndPoint(IPAddress.Loopback, 53), selector, domain, keyFile, algorithm, canonicalization, bodyLength ? "l" : "-");

    /// <summary>Adds an ARC set with <c>dkim.arc_sign</c>: the message needs an Authentication-Results field of
    /// <paramref name="authServId"/>; the key is a PEM RSA key.</summary>
    /// <returns>The ARC set followed by the message.</returns>
    public static Task<byte[]> ArcSignAsync(byte[] message, IPEndPoint dns, string selector, string domain, string keyFile, string authServId) =>
        RunAsync("arcsign", message, dns, selector, domain, keyFile, authServId);

    private static async Task<byte[]> RunAsync(string mode, byte[] message, IPEndPoint dns, params string[] more)
    {
        string dir = Directory.CreateTempSubdirectory("postbote-dkimpy-").FullName;
        try
        {
            string script = Path.Combine(dir, "dkimpy.py");
            string file = Path.Combine(dir, "message.eml");
            await File.WriteAllTextAsync(script, Script);
            await File.WriteAllBytesAsync(file, message);
            var psi = new ProcessStartInfo("/usr/bin/python3")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string a in new[] { script, mode, dns.Address.ToString(), dns.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), file }.Concat(more))
                psi.ArgumentList.Add(a);
            using Process p = Process.Start(psi)!;
            using var stdout = new MemoryStream();
            Task copy = p.StandardOutput.BaseStream.CopyToAsync(stdout);
            Task<string> stderr = p.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await p.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException($"dkimpy {mode} did not finish within 60 s");
            }
            await copy;
            if (p.ExitCode != 0) throw new InvalidOperationException($"dkimpy {mode} failed ({p.ExitCode}): {await stderr}");
            return stdout.ToArray();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
