using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using MimeKit;
using Postbote.Dkim;
using Postbote.Dns;
using Postbote.Security.Dkim;

namespace Postbote.Benchmarks;

/// <summary>
/// DKIM verification of one 2 KiB message with one RSA-SHA256 (2048-bit) signature, relaxed/relaxed, as bench/auth
/// sends it: Postbote's verifier (RSA in OpenSSL) beside MimeKit's (RSA in BouncyCastle), keys from a resolver that
/// answers from memory, so the figure is the verification alone (parsing, canonicalization, hashing, RSA).
/// </summary>
[MemoryDiagnoser]
public class DkimVerifyBenchmarks
{
    private byte[] _signed = [];
    private DkimSignatureVerifier _ours = null!;
    private MimeKit.Cryptography.DkimVerifier _mimeKit = null!;

    /// <summary>Makes a key, signs the message, and builds both verifiers.</summary>
    [GlobalSetup]
    public void Setup()
    {
        DkimGeneratedKey key = DkimKeyGenerator.Generate(DkimAlgorithm.RsaSha256);
        string dir = Directory.CreateTempSubdirectory("pb-dkim-bench-").FullName;
        string pem = Path.Combine(dir, "k.pem");
        File.WriteAllText(pem, key.PrivateKeyPem);
        var signer = new DkimMessageSigner(DkimKeyRing.Load([new DkimSignEntry("signer.test", "s1", pem)]));
        Directory.Delete(dir, recursive: true);
        string header = "From: Bench <bench@signer.test>\r\nTo: <sink@bench.test>\r\nSubject: signed load\r\n"
            + "Date: Wed, 02 Dec 2026 12:00:00 +0000\r\nMessage-Id: <signed-load@signer.test>\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
        string body = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog, again and again, for the benchmark.\r\n", 20));
        byte[] message = Encoding.ASCII.GetBytes(header + body);
        using var stream = new MemoryStream(message);
        string fields = signer.SignAsync(stream, CancellationToken.None).GetAwaiter().GetResult();
        _signed = [.. Encoding.ASCII.GetBytes(fields), .. message];
        var locator = new DnsDkimPublicKeyLocator(new MemoryResolver($"v=DKIM1; k=rsa; p={key.PublicKey}"));
        _ours = new DkimSignatureVerifier(locator);
        _mimeKit = new MimeKit.Cryptography.DkimVerifier(locator);
        if (Ours().GetAwaiter().GetResult() != "pass" || !MimeKit().GetAwaiter().GetResult())
            throw new InvalidOperationException("the benchmark message does not verify");
    }

    /// <summary>Postbote's verifier.</summary>
    /// <returns>The result (<c>pass</c>).</returns>
    [Benchmark]
    public async Task<string> Ours()
    {
        using var stream = new MemoryStream(_signed, writable: false);
        return (await _ours.VerifyAsync(stream, CancellationToken.None))[0].Result;
    }

    /// <summary>MimeKit's verifier on the message parsed by MimeKit.</summary>
    /// <returns>Whether it verified.</returns>
    [Benchmark(Baseline = true)]
    public async Task<bool> MimeKit()
    {
        using var stream = new MemoryStream(_signed, writable: false);
        using MimeMessage parsed = await MimeMessage.LoadAsync(stream);
        return await _mimeKit.VerifyAsync(parsed, parsed.Headers.First(h => h.Id == HeaderId.DkimSignature));
    }

    /// <summary>Answers every TXT query with one record; nothing else is asked.</summary>
    private sealed class MemoryResolver(string txt) : IDnsResolver
    {
        private readonly DnsResult<TxtRecord> _answer = DnsResult<TxtRecord>.Found("s1._domainkey.signer.test", [new TxtRecord([txt])], TimeSpan.FromHours(1));

        public ValueTask<DnsResult<TxtRecord>> LookupTxtAsync(string name, CancellationToken cancellationToken = default) => new(_answer);

        public ValueTask<DnsResult<TxtRecord>> LookupTxtAsync(string name, DnsNameSyntax syntax, CancellationToken cancellationToken = default) => new(_answer);

        public ValueTask<DnsResult<MxRecord>> LookupMxAsync(string domain, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<DnsResult<MxRecord>> LookupMxAsync(string domain, DnsNameSyntax syntax, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<DnsResult<IPAddress>> LookupAAsync(string name, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<DnsResult<IPAddress>> LookupAAsync(string name, DnsNameSyntax syntax, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<DnsResult<IPAddress>> LookupAaaaAsync(string name, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<DnsResult<IPAddress>> LookupAaaaAsync(string name, DnsNameSyntax syntax, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<DnsResult<string>> LookupPtrAsync(IPAddress address, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
