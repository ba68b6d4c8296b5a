using System.Globalization;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// <c>postbote queue list|show|flush|retry|hold|release|delete</c> against the built server: through the control socket
/// <c>{data_dir}/control.sock</c> (mode 0600) while it runs, from the spool (list, show) or refused (the rest) when it
/// does not; python3 as a raw client of the socket's line protocol. A message to a domain that is not local stays
/// queued (relaying is not built yet), which gives every test a deferred message.
/// </summary>
public sealed class QueueCommandTests : IAsyncLifetime
{
    private const string Remote = "bob@remote.example";
    /// <summary>The test servers ask a DNS server that never answers (127.0.0.1:1), so a remote recipient is deferred.</summary>
    private const string Deferral = "451 4.4.3 MX lookup of remote.example failed: no answer from 127.0.0.1:1 within 1 s (1 tries each)";
    private readonly PostboteServer server = new(new ServerOptions { TrustedNetworks = ["127.0.0.1/32"], TlsEnabled = false }, "queue");
    private readonly PostboteCli cli = new();

    public Task InitializeAsync() => server.StartAsync();

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        cli.Dispose();
    }

    private string SocketPath => Path.Combine(server.DataDir, "control.sock");

    [Fact]
    public async Task ControlSocketIsMode0600AndGoesAwayWithTheServer()
    {
        var stat = await ExternalProcess.RunAsync("stat", ["-c", "%a %F %U", SocketPath], TimeSpan.FromSeconds(10));
        Assert.Equal($"600 socket {Environment.UserName}\n", stat.StandardOutput);
        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(30)));
        Assert.False(File.Exists(SocketPath), "the control socket outlived the server");
    }

    [Fact]
    public async Task ListShowAndFlushGoThroughTheSocketWhileTheServerRuns()
    {
        var (id, subject) = await QueueRemoteMessageAsync();

        var list = await QueueAsync("list");
        Assert.True(list.ExitCode == 0, list.Output);
        Assert.Equal(1, server.LogCount("control: list: ok"));
        var lines = list.StandardOutput.Split('\n');
        Assert.Equal("QUEUE ID               AGE        SIZE  SENDER / RECIPIENTS (STATUS)", lines[0]);
        Assert.Matches($@"^{id}  +\d+s  +\d+  <alice@example\.org>$", lines[1]);
        Assert.Matches($@"^ {{42}}<{Regex.Escape(Remote)}> \(deferred, next \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ: {Regex.Escape(Deferral)}\)$", lines[2]);
        Assert.Matches(@"^-- 1 message\(s\), \d+ bytes$", lines[3]);

        var show = await QueueAsync("show", id.ToLowerInvariant()); // IDs are read in any case
        Assert.True(show.ExitCode == 0, show.Output);
        Assert.Equal(1, server.LogCount($"control: show {id}: ok"));
        var shown = show.StandardOutput.Split('\n');
        Assert.Equal($"queue ID:      {id}", shown[0]);
        Assert.Equal("reverse-path:  <alice@example.org>", shown[1]);
        Assert.Matches(@"^received:      \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(\d+s ago\) from 127\.0\.0\.1 \(HELO client\.test\)$", shown[2]);
        Assert.Equal("DSN ENVID:     env-42", shown[5]);
        Assert.Equal("DSN RET:       HDRS", shown[6]);
        Assert.Equal($"recipient <{Remote}>", shown[7]);
        Assert.Equal("  state:         deferred", shown[8]);
        Assert.Equal("  attempts:      1", shown[9]);
        Assert.Equal($"  last reply:    {Deferral}", shown[12]);
        Assert.Equal("  DSN NOTIFY:    FAILURE,DELAY; ORCPT (none)", shown[14]);
        Assert.Equal("headers:", shown[15]);
        Assert.Equal("  Received: from client.test ([127.0.0.1])", shown[16]);
        Assert.Contains($"  Subject: {subject}", shown);
        Assert.DoesNotContain("body line", show.StandardOutput, StringComparison.Ordinal);

        // The retry interval is 300 s: only the flush brings the second attempt now.
        var flush = await QueueAsync("flush");
        Assert.True(flush.ExitCode == 0, flush.Output);
        Assert.Equal("1 message(s) due now\n", flush.StandardOutput);
        Assert.True(await server.WaitForLogAsync($"{id}: to=<{Remote}>, relay=none", 2, TimeSpan.FromSeconds(15)), server.Diagnostics());

        var unknown = await QueueAsync("hold", "0000000000000000");
        Assert.Equal(1, unknown.ExitCode);
        Assert.EndsWith("postbote: 0000000000000000: not in the queue\n", unknown.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GarbageAndOverlongRequestsGetAnErrorLineAndTheServerKeepsServing()
    {
        const string script = """
            import socket, sys
            def ask(data):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(10)
                s.connect(sys.argv[1])
                s.sendall(data)
                reply = b''
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
                s.close()
                print(repr(reply))
            ask(b'\x00\xffgarbage\r\n')
            ask(b'A' * 5000)
            ask(b'hold 12345\n')
            ask(b'list\n')
            """;
        var python = await ExternalProcess.RunAsync("python3", ["-c", script, SocketPath], TimeSpan.FromSeconds(60));
        Assert.True(python.ExitCode == 0, python.Output + server.Diagnostics());
        Assert.Equal(
            "b'bad not a request: \"??garbage\"; commands: list, show ID, flush, retry ID, hold ID, release ID, delete ID, mailq, trace ID|MESSAGE-ID\\n'\n" +
            "b'bad request line longer than 512 octets\\n'\n" +
            "b'bad not a queue ID: \"12345\" (a queue ID is 16 characters of 0-9 and A-Z without I, O, U and Y)\\n'\n" +
            "b'* queue is empty\\nok\\n'\n",
            python.StandardOutput);
        Assert.True(server.IsRunning);
        using var smtp = await SmtpConnection.ConnectAsync(server.Port, TimeSpan.FromSeconds(10));
        Assert.StartsWith("220 ", smtp.Greeting.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithTheServerStoppedListAndShowReadTheSpoolAndChangesAreRefused()
    {
        var (id, _) = await QueueRemoteMessageAsync();
        // kill -9 leaves the socket file behind: a socket that refuses connections means no server, as no file does.
        await server.KillAsync();
        Assert.True(File.Exists(SocketPath));

        var list = await QueueAsync("list");
        Assert.True(list.ExitCode == 0, list.Output);
        Assert.Matches($@"(?m)^{id}  +\d+s  +\d+  <alice@example\.org>\n {{42}}<{Regex.Escape(Remote)}> \(deferred, next [^)]*: {Regex.Escape(Deferral)}\)$", list.StandardOutput);
        var show = await QueueAsync("show", id);
        Assert.True(show.ExitCode == 0, show.Output);
        Assert.StartsWith($"queue ID:      {id}\nreverse-path:  <alice@example.org>\n", show.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"  last reply:    {Deferral}\n", show.StandardOutput, StringComparison.Ordinal);

        foreach (var command in new[] { "flush", "retry", "hold", "release", "delete" })
        {
            var r = command == "flush" ? await QueueAsync(command) : await QueueAsync(command, id);
            Assert.True(r.ExitCode == 1, $"{command}: {r.Output}");
            Assert.Equal("", r.StandardOutput);
            Assert.EndsWith(")\npostbote: the server is not running\n", r.StandardError, StringComparison.Ordinal);
        }

        // Started again, the server replaces the stale socket file.
        await server.StartAsync();
        Assert.Equal(1, server.LogCount("removed the one left by an earlier run"));
        var again = await QueueAsync("show", id);
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Equal(1, server.LogCount($"control: show {id}: ok"));
    }

    [Theory]
    [InlineData("show", "nope")]
    [InlineData("retry", "0123456789ABCDEFG")]
    [InlineData("hold", "0123456789ABCDEI")]
    [InlineData("release", "")]
    [InlineData("delete", "0123456789abcde\u001b")]
    public async Task BadQueueIdIsAUsageError(string command, string id)
    {
        var r = await cli.RunAsync("queue", command, id);
        Assert.Equal(2, r.ExitCode);
        string shown = id.Replace('\u001b', '?');
        Assert.Equal($"postbote: \"{shown}\" is not a queue ID (16 characters of 0-9 and A-Z without I, O, U and Y)\n", r.StandardError);
        Assert.Equal("", r.StandardOutput);
    }

    private Task<ExternalProcess.Result> QueueAsync(params string[] args) =>
        cli.RunAsync(["queue", .. args, "--config", server.ConfigPath]);

    /// <summary>Python's smtplib sends a message with DSN parameters (RFC 3461) to a domain that is not local; it is
    /// deferred at its first attempt.</summary>
    private async Task<(string Id, string Subject)> QueueRemoteMessageAsync()
    {
        string subject = SmtpDialog.NewMarker("queue");
        const string script = """
            import smtplib, sys
            s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='client.test', timeout=30)
            s.ehlo()
            s.mail('alice@example.org', ['RET=HDRS', 'ENVID=env-42'])
            s.rcpt(sys.argv[2], ['NOTIFY=FAILURE,DELAY'])
            code, reply = s.data(('Subject: ' + sys.argv[3] + '\r\nFrom: alice@example.org\r\n\r\nbody line\r\n').encode())
            print(code, reply.decode())
            s.quit()
            """;
        var python = await ExternalProcess.RunAsync("python3",
            ["-c", script, server.Port.ToString(CultureInfo.InvariantCulture), Remote, subject], TimeSpan.FromSeconds(60));
        var queued = Regex.Match(python.StandardOutput, @"^250 2\.0\.0 Ok: queued as ([0-9A-Z]{16})\n$");
        Assert.True(queued.Success, python.Output + server.Diagnostics());
        string id = queued.Groups[1].Value;
        Assert.True(await server.WaitForLogAsync($"{id}: to=<{Remote}>, relay=none", 1, TimeSpan.FromSeconds(15)), server.Diagnostics());
        return (id, subject);
    }
}
