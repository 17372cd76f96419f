Deno.bench("placeholder", () => {});
