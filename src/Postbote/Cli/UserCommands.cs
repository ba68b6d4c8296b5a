using Postbote.Security.Users;

namespace Postbote.Host;

/// <summary>
/// <c>postbote user …</c>: manages the accounts of SMTP AUTH in <c>{data_dir}/users</c> (<see cref="FileUserStore"/>).
/// A running server sees the change on its next AUTH, without a restart. Passwords are never taken from the command
/// line (where <c>ps</c> and shell history would show them): from the terminal without echo, asked twice, or else from
/// the first line of standard input. Exit codes: 0 success, 1 failure (unknown or existing user, passwords differ,
/// I/O error), 2 usage.
/// </summary>
internal static class UserCommands
{
    /// <summary>The usage text.</summary>
    public const string Usage = """
        usage: postbote user add NAME [--address ADDR]... [--any-sender]   add a user; password from the terminal or stdin
               postbote user passwd NAME                                 set a user's password
               postbote user remove NAME                                 remove a user
               postbote user list                                        list users: name, addresses, any-sender
        each takes --config FILE to use that configuration's data directory (default: the embedded default's ./data)
        """;

    /// <summary>Runs a <c>user</c> command.</summary>
    /// <param name="args">The arguments, with or without the leading <c>user</c>.</param>
    /// <param name="dataDirectory">The data directory holding the <c>users</c> file.</param>
    /// <param name="stdin">Standard input; when it is the console and not redirected, the password is read from the
    /// terminal without echo.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error (prompts and errors).</param>
    /// <returns>0 success, 1 failure, 2 usage.</returns>
    public static int Run(IReadOnlyList<string> args, string dataDirectory, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        List<string> rest = args.ToList();
        if (rest.Count > 0 && rest[0] == "user") rest.RemoveAt(0);
        var store = new FileUserStore(dataDirectory);
        try
        {
            return rest switch
            {
                ["add", string name, .. var options] => Add(store, name, options, stdin, stderr),
                ["passwd", string name] => Passwd(store, name, stdin, stderr),
                ["remove", string name] => Remove(store, name, stderr),
                ["list"] => List(store, stdout),
                _ => UsageError(stderr, null),
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            stderr.WriteLine($"postbote: {store.FilePath}: {e.Message}");
            return 1;
        }
    }

    private static int Add(FileUserStore store, string name, List<string> options, TextReader stdin, TextWriter stderr)
    {
        if (!UserRecord.IsValidName(name)) return UsageError(stderr, $"invalid user name '{name}'");
        var addresses = new List<string>();
        bool anySender = false;
        for (int i = 0; i < options.Count; i++)
        {
            switch (options[i])
            {
                case "--address" when i + 1 < options.Count:
                    string address = options[++i];
                    if (!UserRecord.IsValidName(address) || !address.Contains('@', StringComparison.Ordinal))
                        return UsageError(stderr, $"invalid address '{address}'");
                    if (!addresses.Contains(address, StringComparer.OrdinalIgnoreCase)) addresses.Add(address);
                    break;
                case "--any-sender":
                    anySender = true;
                    break;
                default:
                    return UsageError(stderr, options[i] == "--address" ? "--address needs an address" : $"unexpected argument '{options[i]}'");
            }
        }
        if (store.List().Any(u => string.Equals(u.Name, name, StringComparison.OrdinalIgnoreCase)))
        {
            stderr.WriteLine($"postbote: user {name} exists; use 'postbote user passwd {name}' to change the password");
            return 1;
        }
        if (!TryReadNewPassword(stdin, stderr, out string? password)) return 1;
        UserRecord user = Create(name, password, addresses, anySender);
        store.AddOrUpdate(user);
        stderr.WriteLine($"postbote: user {name} added");
        return 0;
    }

    private static int Passwd(FileUserStore store, string name, TextReader stdin, TextWriter stderr)
    {
        UserRecord? existing = store.List().FirstOrDefault(u => string.Equals(u.Name, name, StringComparison.OrdinalIgnoreCase));
        if (existing is null)
        {
            stderr.WriteLine($"postbote: no user {name}");
            return 1;
        }
        if (!TryReadNewPassword(stdin, stderr, out string? password)) return 1;
        store.AddOrUpdate(Create(existing.Name, password, existing.Addresses, existing.AnySender));
        stderr.WriteLine($"postbote: password of {existing.Name} changed");
        return 0;
    }

    private static int Remove(FileUserStore store, string name, TextWriter stderr)
    {
        if (!store.Remove(name))
        {
            stderr.WriteLine($"postbote: no user {name}");
            return 1;
        }
        stderr.WriteLine($"postbote: user {name} removed");
        return 0;
    }

    private static int List(FileUserStore store, TextWriter stdout)
    {
        IReadOnlyList<UserRecord> users = store.List();
        if (users.Count == 0)
        {
            stdout.WriteLine("no users");
            return 0;
        }
        stdout.WriteLine("NAME\tADDRESSES\tANY-SENDER");
        foreach (UserRecord user in users)
        {
            string addresses = user.Addresses.Count == 0 ? "-" : string.Join(',', user.Addresses);
            stdout.WriteLine($"{user.Name}\t{addresses}\t{(user.AnySender ? "any-sender" : "-")}");
        }
        return 0;
    }

    private static UserRecord Create(string name, string password, IReadOnlyList<string> addresses, bool anySender) =>
        new(name, PasswordHasher.Hash(password), PasswordHasher.DeriveScram(password, PasswordHasher.ScramIterations),
            addresses.ToArray(), anySender);

    private static int UsageError(TextWriter stderr, string? message)
    {
        if (message is not null) stderr.WriteLine("postbote: " + message);
        stderr.WriteLine(Usage);
        return 2;
    }

    /// <summary>Reads the new password: twice from the terminal without echo, or the first line of redirected input.</summary>
    private static bool TryReadNewPassword(TextReader stdin, TextWriter stderr,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? password)
    {
        password = null;
        string? first;
        if (IsTerminal(stdin))
        {
            first = ReadHidden(stderr, "Password: ");
            string? second = ReadHidden(stderr, "Repeat password: ");
            if (first != second)
            {
                stderr.WriteLine("postbote: the passwords differ");
                return false;
            }
        }
        else
        {
            first = stdin.ReadLine();
        }
        if (string.IsNullOrEmpty(first))
        {
            stderr.WriteLine("postbote: empty password");
            return false;
        }
        if (!SaslPrep.TryPrepare(first, out _, out string? error))
        {
            stderr.WriteLine("postbote: " + error);
            return false;
        }
        password = first;
        return true;
    }

    private static bool IsTerminal(TextReader stdin) => ReferenceEquals(stdin, Console.In) && !Console.IsInputRedirected;

    private static string? ReadHidden(TextWriter stderr, string prompt)
    {
        stderr.Write(prompt);
        stderr.Flush();
        var buffer = new System.Text.StringBuilder();
        while (true)
        {
            ConsoleKeyInfo key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter) break;
            if (key.Key == ConsoleKey.Backspace)
            {
                if (buffer.Length > 0) buffer.Length--;
                continue;
            }
            if (key.KeyChar == '\u0004' && buffer.Length == 0) // Ctrl+D on an empty line: end of input
            {
                stderr.WriteLine();
                return null;
            }
            if (!char.IsControl(key.KeyChar)) buffer.Append(key.KeyChar);
        }
        stderr.WriteLine();
        return buffer.ToString();
    }
}
