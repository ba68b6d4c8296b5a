namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>A server with POP3 on two ports (STLS and implicit TLS) and users whose mailboxes the tests fill over SMTP.</summary>
public class Pop3ServerFixture : IAsyncLifetime
{
    /// <summary>The password of every user of this fixture.</summary>
    public const string Password = "pop-s3cret word";

    private PostboteServer? server;

    /// <summary>The running server.</summary>
    public PostboteServer Server => server ?? throw new InvalidOperationException("the fixture did not start");

    /// <summary>The users (and mailboxes) of this fixture: <c>user1@example.com</c> … <c>user30@example.com</c>.</summary>
    public static string User(int i) => $"user{i}@example.com";

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        server = new PostboteServer(CreateOptions(), GetType().Name.Replace("Fixture", string.Empty, StringComparison.Ordinal));
        try
        {
            foreach (int i in Enumerable.Range(1, UserCount))
            {
                await server.AddUserAsync(User(i), Password);
            }

            await server.StartAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>How many users to create (each costs one Argon2id hash at start).</summary>
    protected virtual int UserCount => 12;

    /// <summary>The configuration: POP3 on, nobody trusted.</summary>
    protected virtual ServerOptions CreateOptions() => new() { Pop3 = true };

    /// <summary>Delivers <paramref name="messages"/> to <paramref name="mailbox"/> over SMTP and waits until they are in
    /// its Maildir; returns the delivered files in delivery order.</summary>
    public async Task<IReadOnlyList<MaildirMessage>> DeliverAsync(string mailbox, params byte[][] messages)
    {
        var box = Server.Mailbox(mailbox);
        int before = box.Count();
        using (var smtp = await SmtpConnection.ConnectAsync(Server.Port))
        {
            await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
            foreach (var m in messages)
            {
                var reply = await SmtpDialog.SendMailAsync(smtp, "a@example.org", [mailbox], m, ehlo: false);
                Assert.True(reply.Code == 250, $"{reply}\n{Server.Diagnostics()}");
            }
        }

        var all = await box.WaitForAsync(before + messages.Length);
        Assert.True(all.Count == before + messages.Length, $"not delivered: {box.Describe()}{Server.Diagnostics()}");
        return all.OrderBy(m => Path.GetFileName(m.FilePath), StringComparer.Ordinal).ToList();
    }
}
