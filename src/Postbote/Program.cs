using Postbote.Host.Cli;

return await PostboteCommandLine.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
