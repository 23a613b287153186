import { Alert, Button, Center, Skeleton, Stack, Text, Title } from '@mantine/core';
import type { ErrorComponentProps } from '@tanstack/react-router';
import type { ReactNode } from 'react';
import { ApiError } from '../api/client';

/** What a page shows while its data loads: the shape of a table. */
export function PageSkeleton() {
  return (
    <Stack p="md" gap="sm" aria-busy="true" aria-label="Loading">
      <Skeleton height={28} width="40%" />
      {Array.from({ length: 8 }, (_, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: placeholders have no identity
        <Skeleton key={i} height={22} />
      ))}
    </Stack>
  );
}

/** A page that failed: a 404 says the record does not exist (another tenant's id too). */
export function PageError({ error, reset }: ErrorComponentProps) {
  const notFound = error instanceof ApiError && error.status === 404;
  return (
    <Center p="xl">
      <Stack align="center" maw={480}>
        <Title order={2}>{notFound ? 'Not found' : 'Something went wrong'}</Title>
        <Text c="dimmed" ta="center">
          {notFound
            ? 'This record does not exist, or it is not in your organization.'
            : (error as Error).message}
        </Text>
        {!notFound && <Button onClick={reset}>Try again</Button>}
      </Stack>
    </Center>
  );
}

/** An empty list that says what to do next. */
export function EmptyState({
  title,
  children,
  action,
}: {
  title: string;
  children?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <Center py={48}>
      <Stack align="center" gap="xs" maw={420}>
        <Title order={3}>{title}</Title>
        {children && (
          <Text c="dimmed" ta="center">
            {children}
          </Text>
        )}
        {action}
      </Stack>
    </Center>
  );
}

/** An inline error from the API, keeping whatever the user typed in the form around it. */
export function ErrorAlert({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <Alert color="red" role="alert" title="Could not save">
      {message}
    </Alert>
  );
}
