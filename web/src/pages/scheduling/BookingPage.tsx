import { Alert, Box, Button, Container, Group, Paper, Stack, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useParams } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';
import { ApiError, api, call, type Schemas } from '../../api/client';

type Slots = Schemas['BookingSlots'];

const visitorZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
const timeIn = (iso: string, zone: string) =>
  new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', timeZone: zone }).format(
    new Date(iso),
  );
const dayLabel = (date: string) =>
  new Intl.DateTimeFormat(undefined, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    timeZone: 'UTC',
  }).format(new Date(`${date}T12:00:00Z`));

/** The public booking page (`/book/<token>`): pick a day and a time in your own time zone. */
export function BookingPage() {
  const { token } = useParams({ strict: false }) as { token: string };
  const queryClient = useQueryClient();
  const [zone] = useState(visitorZone);
  const [day, setDay] = useState<string | null>(null);
  const [slot, setSlot] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState<string | null>(null);
  const page = useQuery({
    queryKey: ['booking-page', token],
    queryFn: () => call(api.GET('/api/v1/public/booking/{token}', { params: { path: { token } } })),
  });
  const slotsKey = ['booking-slots', token, zone];
  const slots = useQuery({
    queryKey: slotsKey,
    queryFn: () =>
      call(
        api.GET('/api/v1/public/booking/{token}/slots', {
          params: { path: { token }, query: { time_zone: zone, days: 21 } },
        }),
      ),
  });
  const book = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/public/booking/{token}', {
          params: { path: { token } },
          body: { start: slot!, name, email, time_zone: zone, answers },
        }),
      ),
    onError: (e) => {
      if (e instanceof ApiError && e.status === 409) {
        const fresh = (e.problem as { slots?: Slots }).slots;
        if (fresh) queryClient.setQueryData(slotsKey, fresh);
        setSlot(null);
        setNotice('That time was just taken: pick another one.');
      }
    },
  });
  if (page.error) return <Centered>This booking page does not exist or is closed.</Centered>;
  if (!page.data || !slots.data) return <Centered>Loading…</Centered>;
  if (book.data)
    return (
      <Centered>
        <Title order={1} size="h3">
          Booked: {page.data.name}
        </Title>
        <Text>
          {new Intl.DateTimeFormat(undefined, {
            dateStyle: 'full',
            timeStyle: 'short',
            timeZone: zone,
          }).format(new Date(book.data.start))}{' '}
          ({zone})
        </Text>
        <Text size="sm" c="dimmed">
          An invitation is on its way to {email}. To reschedule or cancel, use the link in it.
        </Text>
      </Centered>
    );
  const days = slots.data.days;
  const chosenDay = days.find((d) => d.date === day) ?? days[0];
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setNotice(null);
    book.mutate();
  };
  return (
    <Container size="sm" py="xl">
      <Paper withBorder p="lg">
        <Stack>
          <Title order={1} size="h2">
            {page.data.name}
          </Title>
          <Text c="dimmed">
            {page.data.duration_minutes} minutes with {page.data.hosts.map((h) => h.name).join(', ')}
            {page.data.location ? ` · ${page.data.location}` : ''}
            {page.data.video ? ' · video call' : ''}
          </Text>
          <Text size="sm">Times are shown in your time zone: {zone}</Text>
          {notice && <Alert color="yellow">{notice}</Alert>}
          {days.length === 0 ? (
            <Text>No free times in the next three weeks.</Text>
          ) : (
            <>
              <Group gap="xs" role="group" aria-label="Days">
                {days.map((d) => (
                  <Button
                    key={d.date}
                    size="xs"
                    variant={d.date === chosenDay?.date ? 'filled' : 'default'}
                    onClick={() => {
                      setDay(d.date);
                      setSlot(null);
                    }}
                  >
                    {dayLabel(d.date)}
                  </Button>
                ))}
              </Group>
              <Group gap="xs" role="group" aria-label="Times">
                {chosenDay?.slots.map((s) => (
                  <Button
                    key={s.start}
                    size="xs"
                    variant={s.start === slot ? 'filled' : 'light'}
                    onClick={() => setSlot(s.start)}
                  >
                    {timeIn(s.start, zone)}
                  </Button>
                ))}
              </Group>
            </>
          )}
          {slot && (
            <Box component="form" onSubmit={submit}>
              <Stack gap="sm">
                <TextInput
                  label="Your name"
                  required
                  value={name}
                  onChange={(e) => setName(e.currentTarget.value)}
                />
                <TextInput
                  label="E-mail"
                  type="email"
                  required
                  value={email}
                  onChange={(e) => setEmail(e.currentTarget.value)}
                />
                {page.data.questions.map((q) => (
                  <TextInput
                    key={q.key}
                    label={q.label}
                    required={q.required}
                    value={answers[q.key] ?? ''}
                    onChange={(e) => setAnswers({ ...answers, [q.key]: e.currentTarget.value })}
                  />
                ))}
                {book.error && !(book.error instanceof ApiError && book.error.status === 409) && (
                  <Alert color="red">{book.error.message}</Alert>
                )}
                <Group>
                  <Button type="submit" loading={book.isPending}>
                    Book {timeIn(slot, zone)}
                  </Button>
                </Group>
              </Stack>
            </Box>
          )}
        </Stack>
      </Paper>
    </Container>
  );
}

/** The visitor's link (`/book/manage/<token>`): see the booking, move it or cancel it. */
export function ManageBookingPage() {
  const { token } = useParams({ strict: false }) as { token: string };
  const queryClient = useQueryClient();
  const zone = visitorZone();
  const [start, setStart] = useState<string | null>(null);
  const booking = useQuery({
    queryKey: ['public-booking', token],
    queryFn: () => call(api.GET('/api/v1/public/bookings/{token}', { params: { path: { token } } })),
  });
  const done = () => void queryClient.invalidateQueries({ queryKey: ['public-booking', token] });
  const cancel = useMutation({
    mutationFn: () =>
      call(api.POST('/api/v1/public/bookings/{token}/cancel', { params: { path: { token } } })),
    onSuccess: done,
  });
  const move = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/public/bookings/{token}/reschedule', {
          params: { path: { token } },
          body: { start: new Date(start!).toISOString(), time_zone: zone },
        }),
      ),
    onSuccess: done,
  });
  if (booking.error) return <Centered>This booking does not exist.</Centered>;
  if (!booking.data) return <Centered>Loading…</Centered>;
  const b = booking.data;
  const when = new Intl.DateTimeFormat(undefined, {
    dateStyle: 'full',
    timeStyle: 'short',
    timeZone: zone,
  }).format(new Date(b.start));
  return (
    <Centered>
      <Title order={1} size="h3">
        {b.meeting}
      </Title>
      <Text>
        {when} ({zone}) with {b.hosts.map((h) => h.name).join(', ')}
      </Text>
      {b.status === 'cancelled' ? (
        <Alert color="gray">This meeting is cancelled.</Alert>
      ) : (
        <Stack gap="sm">
          <TextInput
            label="Move to (your time)"
            type="datetime-local"
            value={start ?? ''}
            onChange={(e) => setStart(e.currentTarget.value)}
          />
          {(move.error || cancel.error) && <Alert color="red">{(move.error ?? cancel.error)?.message}</Alert>}
          <Group>
            <Button disabled={!start} loading={move.isPending} onClick={() => move.mutate()}>
              Reschedule
            </Button>
            <Button color="red" variant="light" loading={cancel.isPending} onClick={() => cancel.mutate()}>
              Cancel the meeting
            </Button>
          </Group>
        </Stack>
      )}
    </Centered>
  );
}

function Centered({ children }: { children: React.ReactNode }) {
  return (
    <Container size="xs" py="xl">
      <Paper withBorder p="lg">
        <Stack>{children}</Stack>
      </Paper>
    </Container>
  );
}
